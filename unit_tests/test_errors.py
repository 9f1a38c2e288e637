"""Errors carry context and hints, map to CDK failure types, and never leak signed URLs."""

from airbyte_cdk.models import FailureType, StreamDescriptor

from source_exports.errors import (
    AuthError,
    ConfigError,
    DownloadError,
    RecordParseError,
    UnreadableAnswer,
    VendorJobFailed,
    to_traced_exception,
)


def test_given_context_and_hint_when_formatting_then_message_names_them_in_order():
    error = RecordParseError("Invalid JSON", file="out.json", row=7, hint="Re-run the export")
    assert error.user_message == "Invalid JSON (file: out.json, row: 7). Re-run the export"


def test_given_signed_url_in_context_when_formatting_then_query_is_removed():
    error = DownloadError(
        "Storage answered 500", url="https://s3.example/b/f.csv?X-Amz-Signature=abc&X-Amz-Credential=k"
    )
    assert "X-Amz" not in error.user_message and "https://s3.example/b/f.csv" in error.user_message


def test_given_each_error_class_when_traced_then_failure_type_matches_taxonomy():
    cases = {
        ConfigError("x"): FailureType.config_error,
        AuthError("x"): FailureType.config_error,
        DownloadError("x"): FailureType.transient_error,
        VendorJobFailed("x", job_id="1", state="ERROR"): FailureType.transient_error,
        VendorJobFailed("x", account=True): FailureType.config_error,
        UnreadableAnswer("x"): FailureType.transient_error,
        RecordParseError("x"): FailureType.config_error,
    }
    for error, failure_type in cases.items():
        traced = to_traced_exception(error, StreamDescriptor(name="s"))
        assert traced.failure_type == failure_type
        assert traced.message.startswith("Stream 's': x")


def test_given_unexpected_exception_when_traced_then_system_error_says_it_is_a_bug():
    traced = to_traced_exception(KeyError("boom"), StreamDescriptor(name="s"))
    assert traced.failure_type == FailureType.system_error
    assert "bug" in traced.message and "'s'" in traced.message
