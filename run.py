"""Entry point of the command line: `python run.py --pipeline training` and friends (see cli/)."""

from cli.main import main

if __name__ == "__main__":
    main()
