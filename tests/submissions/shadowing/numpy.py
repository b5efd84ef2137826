raise ImportError('shadowed numpy from the submission root')
