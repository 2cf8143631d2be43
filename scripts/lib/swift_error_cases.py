#!/usr/bin/env python3
"""Gives the error enums in UniFFI's generated Swift lowerCamelCase cases, in place.

UniFFI 0.32 names the cases of plain enums in lowerCamelCase (`FailureKind.readTimeout`)
but those of error enums in UpperCamelCase (`AndalError.InvalidInput`), and has no option
to change it (mozilla/uniffi-rs#2262; the fix, #2351, is not released). Swift's API
guidelines want `AndalError.invalidInput`. This step, run by scripts/test.d/swift.sh right
after uniffi-bindgen, renames each error case where UniFFI itself spells it: the
declaration in the enum and the two references in its FfiConverter (read and write). It
quotes Swift keywords the way UniFFI quotes them in plain enums (`` `internal` ``).

It is strict on purpose: it fails unless it finds exactly those three spellings of every
case and no other, so a UniFFI upgrade that changes the generated shape stops the
fresh-check instead of producing half-renamed code. Delete it once UniFFI can do this.

usage: swift_error_cases.py Andal.swift
       swift_error_cases.py --check-uses Andal.swift FILE.swift... (see check_uses)
"""
import re
import sys

# uniffi_bindgen 0.32, bindings/swift/gen_swift/mod.rs: KEYWORDS (quoted with backticks).
KEYWORDS = set(
    "associatedtype class deinit enum extension fileprivate func import init inout internal "
    "let open operator private precedencegroup protocol public rethrows static struct "
    "subscript typealias var break case catch continue default defer do else fallthrough for "
    "guard if in repeat return throw switch where while Any as await false is nil self Self "
    "super throws true try".split()
)


def lower_camel(name: str) -> str:
    # Only simple UpperCamelCase names (no acronyms, no underscores), where lowering the
    # first letter is exactly heck's to_lower_camel_case, which UniFFI uses for plain enums.
    if not re.fullmatch(r"(?:[A-Z][a-z0-9]+)+", name):
        sys.exit(f"swift_error_cases: variant {name!r} is not simple UpperCamelCase; extend the rename")
    lowered = name[0].lower() + name[1:]
    return f"`{lowered}`" if lowered in KEYWORDS else lowered


def block(text: str, start_pattern: str, what: str) -> tuple[int, int]:
    """Start and end offsets of a top-level declaration (its closing `}` is at column 0)."""
    found = re.search(start_pattern, text, re.M)
    if not found:
        sys.exit(f"swift_error_cases: {what} not found")
    end = text.find("\n}\n", found.end())
    if end < 0:
        sys.exit(f"swift_error_cases: end of {what} not found")
    return found.start(), end + 2


def rename(text: str) -> tuple[str, list[str]]:
    errors = re.findall(r"^enum (\w+): Swift\.Error\b", text, re.M)
    if not errors:
        sys.exit("swift_error_cases: no error enum in the generated Swift")
    renamed: dict[str, list[str]] = {}
    for enum in errors:
        start, end = block(text, rf"^enum {enum}: Swift\.Error\b[^\n]*\{{$", f"enum {enum}")
        decl = text[start:end]
        variants = re.findall(r"^    case (\w+)\b", decl, re.M)
        if not variants:
            sys.exit(f"swift_error_cases: no case in enum {enum}")
        for v in variants:
            decl, n = re.subn(rf"^    case {v}\b", f"    case {lower_camel(v)}", decl, flags=re.M)
            assert n == 1, (enum, v, n)
        text = text[:start] + decl + text[end:]

        start, end = block(
            text, rf"^public struct FfiConverterType{enum}: FfiConverterRustBuffer \{{$", f"converter of {enum}"
        )
        conv = text[start:end]
        for v in variants:
            # `return .V(` in read, `case let .V(` / `case .V:` in write.
            conv, n = re.subn(rf"(?<=[ (])\.{v}\b", "." + lower_camel(v), conv)
            if n != 2:
                sys.exit(f"swift_error_cases: {enum}.{v} appears {n} times in its converter, expected 2")
        text = text[:start] + conv + text[end:]
        renamed[enum] = variants

    for enum, variants in renamed.items():
        for v in variants:
            # Nothing else in the file may still name the UpperCamelCase case.
            left = re.findall(rf"\b{enum}\.{v}\b|(?<=[ (])\.{v}\b", text)
            if left:
                sys.exit(f"swift_error_cases: {enum}.{v} still referenced as {left[0]!r}")
    return text, [f"{e} ({', '.join(lower_camel(v) for v in vs)})" for e, vs in renamed.items()]


def check_uses(generated: str, paths: list[str]) -> list[str]:
    """Hand-written Swift (no compiler here) must name error cases that exist: every
    `AndalError.x` / `TransportError.x` / `ListenerError.x` is a case of that enum or one of
    its members, and no `.X(` spells a case the old UpperCamelCase way."""
    cases: dict[str, set[str]] = {}
    for enum in re.findall(r"^enum (\w+): Swift\.Error\b", generated, re.M):
        start, end = block(generated, rf"^enum {enum}: Swift\.Error\b[^\n]*\{{$", f"enum {enum}")
        cases[enum] = {c.strip("`") for c in re.findall(r"^    case (`?\w+`?)", generated[start:end], re.M)}
    members = {"description", "errorDescription", "localizedDescription", "self"}
    upper = {c[0].upper() + c[1:] for names in cases.values() for c in names}
    problems = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for n, line in enumerate(text.splitlines(), 1):
            for enum, name in re.findall(r"\b(" + "|".join(cases) + r")\.`?(\w+)`?", line):
                if name not in cases[enum] and name not in members:
                    problems.append(f"{path}:{n}: {enum}.{name} is not a case of {enum}")
            for name in re.findall(r"(?<![\w.])\.([A-Z]\w*)\(", line):
                if name in upper:
                    problems.append(f"{path}:{n}: .{name}( is the old spelling of an error case")
    return problems


def main() -> None:
    if sys.argv[1] == "--check-uses":
        with open(sys.argv[2], encoding="utf-8") as f:
            problems = check_uses(f.read(), sys.argv[3:])
        for p in problems:
            print("swift: " + p, file=sys.stderr)
        sys.exit(1 if problems else 0)
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text, _ = rename(text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
