raise ImportError('shadowed pytest from the submission root')
