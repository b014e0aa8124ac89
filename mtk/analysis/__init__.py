"""What data says about itself: ``mtk inspect`` reports, dataset validation, frame-rate doubts, non-finite
checks and codebook usage. Pure functions on arrays; the readers that feed them live in :mod:`mtk.formats`."""
