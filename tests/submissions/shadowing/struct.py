raise ImportError('shadowed struct from the submission root')
