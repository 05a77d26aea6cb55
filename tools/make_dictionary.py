"""Regenerate ``docs/data-dictionary.md`` from the forms, registries, rules and figures:
``python tools/make_dictionary.py`` (a test fails while the committed file is stale)."""

from ecostat.publish.dictionary import write

if __name__ == "__main__":
    print(write())
