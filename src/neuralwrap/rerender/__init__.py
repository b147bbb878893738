"""Neural rerendering in the wild (capture → dataset → models → render). In progress: only the CLI help exists."""

__all__: list[str] = []
