raise ImportError('shadowed os from the submission root')
