"""Pictures of motions: stick figures drawn with matplotlib (:mod:`.stick_figure`)."""
