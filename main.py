"""Run the connector from a checkout: `python main.py spec`."""

from source_exports.run import run

if __name__ == "__main__":
    run()
