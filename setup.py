"""Packaging for source-exports: `pip install .` installs the `source-exports` command."""

from setuptools import find_packages, setup

RUNTIME = [
    "airbyte-cdk==7.39.1",  # exactly: source_exports/cdk_seam.py mirrors its internals (README: Upgrading the CDK)
    "requests>=2.31",
    "pendulum>=3",
    "ijson>=3.2",
    "orjson>=3.9",
    "pyarrow>=15",
    "zstandard>=0.22",
]

TESTS = [
    "pytest>=8",
    "requests-mock>=1.11",
    "ruff>=0.6",
    "psutil>=5.9",
]

DEMO = [
    "airbyte>=0.20",  # PyAirbyte: demo/test only, never a runtime dependency
    "duckdb>=1.0",
]

setup(
    name="source-exports",
    version="0.2.7",
    description="Airbyte source for vendor export APIs: Cargo, SourceCraft CI, Spaaza, PostHog.",
    packages=find_packages(include=["source_exports", "source_exports.*"]),
    package_data={"source_exports": ["*.json", "schemas/*.json", "vendors/*/*.json", "vendors/*/schemas/*.json"]},
    python_requires=">=3.10,<3.13",
    install_requires=RUNTIME,
    extras_require={"tests": TESTS, "demo": DEMO, "dev": TESTS + DEMO},
    entry_points={"console_scripts": ["source-exports=source_exports.startup:main"]},
)
