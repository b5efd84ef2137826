raise ImportError('shadowed json from the submission root')
