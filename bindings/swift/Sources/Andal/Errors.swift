// Hand-written (not generated): the error enums' `LocalizedError` conformance.
//
// `AndalError`, `TransportError` and `ListenerError` are generated in Andal.swift, with
// lowerCamelCase cases (scripts/lib/swift_error_cases.py, part of the generator step) and a
// `description` that calls the Rust `Display` implementation (`#[uniffi::export(Display)]`
// in bindings/uniffi). UniFFI's own `errorDescription` would be `String(reflecting:)`, a dump
// of the enum, so bindings/uniffi/uniffi.toml turns it off and this file supplies the
// sentence instead. The wording lives in Rust, once for every binding; it never contains the
// NIK, a name, a birth date or the API key.
import Foundation

extension AndalError: CustomStringConvertible, LocalizedError {
    /// The Rust `Display` sentence, e.g. `registry unavailable (http_503) after 3 attempt(s)
    /// in 812 ms`; what `error.localizedDescription` returns.
    public var errorDescription: String? { description }
}

extension TransportError: CustomStringConvertible, LocalizedError {
    /// The Rust `Display` sentence (the failure kind and the transport's detail).
    public var errorDescription: String? { description }
}

extension ListenerError: CustomStringConvertible, LocalizedError {
    /// The Rust `Display` sentence (`listener failed: ...`).
    public var errorDescription: String? { description }
}
