"""``python -m mtk`` (so that ``accelerate launch -m mtk ...`` works)."""

from mtk.cli import main

if __name__ == "__main__":
    main()
