"""The header table as the build writes it for real servers: every served file gets
exactly one caching rule from dist/_headers, the one build.py serve uses."""

from buildtools.compress import served_files
from buildtools.headers import CACHE_IMMUTABLE, cache_control, nginx_conf


def header_rules(text: str) -> list[tuple[str, dict[str, str]]]:
    rules = []
    for line in text.splitlines():
        if line and not line.startswith(" "):
            rules.append((line, {}))
        elif line.strip():
            name, _, value = line.strip().partition(": ")
            rules[-1][1][name] = value
    return rules


def test_each_served_file_has_one_cache_rule_in_the_headers_file(built):
    rules = header_rules((built / "_headers").read_text())
    paths = ["/", *("/" + str(p.relative_to(built)) for p in served_files(built) if p.name != "_headers")]
    assert any(path.startswith("/edgebox/modules/") for path in paths) and any(path.startswith("/edgebox/pyodide/") for path in paths)
    for path in paths:
        # Such hosts apply every rule whose pattern matches (a trailing * matches any rest).
        matching = [headers for pattern, headers in rules
                    if (path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern)]
        values = [headers["Cache-Control"] for headers in matching if "Cache-Control" in headers]
        assert values == [cache_control(path)], (path, values)
        assert sum("Cross-Origin-Embedder-Policy" in headers for headers in matching) == 1, path


def test_nginx_repeats_every_header_in_each_location():
    conf = nginx_conf("'sha256-x'")
    locations = conf.split("location ")[1:]
    assert [block.split(" {")[0] for block in locations] == ["^~ /edgebox/pyodide/", "^~ /edgebox/modules/", "/"]
    for block in locations:
        assert block.count("add_header ") == 6 and "'sha256-x'" in block
        assert ("immutable" in block) == block.startswith("^~"), block
    assert f'add_header Cache-Control "{CACHE_IMMUTABLE}" always;' in conf
    assert "brotli_static on;" in conf and "gzip_static on;" in conf and "application/wasm wasm;" in conf
