"""Normalisation statistics: exact streaming moments and the text-to-motion conventions (:mod:`.moments`), and
which convention a pair of mean/std files follows (:mod:`.conventions`)."""
