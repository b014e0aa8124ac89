"""Text-to-motion metrics as the papers compute them: FID, R-precision, MM-Dist, diversity, multimodality.

* :mod:`mtk.metrics.statistics`: the statistics on embeddings (numpy, no evaluator needed);
* :mod:`mtk.metrics.evaluator`: the evaluator interface; :mod:`mtk.metrics.load`: :func:`load_evaluator`;
* :mod:`mtk.metrics.t2m`: Guo et al.'s HumanML3D / KIT-ML evaluator, :mod:`mtk.metrics.words` its GloVe input;
* :mod:`mtk.metrics.tmr`: the 272 evaluators (MotionMillion's, MotionStreamer's; needs ``mtk[eval]``);
* :mod:`mtk.metrics.protocol`: T2M-GPT's evaluation loop (batches of 32, random captions and crops,
  replications) for reconstructions; :mod:`mtk.metrics.generated`: generated motion (``mtk metrics``);
* :mod:`mtk.metrics.checkpoint`: evaluator checkpoints read without running anything they name;
* :mod:`mtk.metrics.random_evaluator`: a seeded random evaluator for demos and noise studies.

Heavy libraries (torch, transformers) are imported by the modules that need them, never here.
"""
