"""Run the connector from a checkout: `python main.py spec`."""

from source_exports.startup import main

if __name__ == "__main__":
    main()
