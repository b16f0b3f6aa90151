"""The jinja2 pages of dist/."""

from __future__ import annotations

from .paths import DIST, PAGES, ROOT
from .steps import write_if_changed


def render_pages() -> None:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "web" / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    for page in PAGES:
        write_if_changed(DIST / page, env.get_template(page).render().encode())
