"""The composition root: every service is a typed field of Services, built by build_services."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping

from infobutton.config import Settings
from infobutton.knowledge import TitleTable
from infobutton.services import Services, build_services, current_services
from infobutton.store import migrate


def test_every_service_is_a_typed_field_built_in_one_place(app, services):
    hints = typing.get_type_hints(Services)
    assert not [name for name, hint in hints.items() if typing.get_origin(hint) in (dict, Mapping) or hint is dict]
    for name, hint in hints.items():
        value = getattr(services, name)
        if typing.get_origin(hint) in (typing.Union, types.UnionType):  # optional services, off by default
            assert value is None or isinstance(value, typing.get_args(hint)), name
        elif isinstance(hint, type):
            assert isinstance(value, hint), name
        else:  # the hook lists
            assert typing.get_origin(hint) is list, name
    assert len(hints) >= 15
    # the parts are wired to each other, not rebuilt
    assert services.suggestions.mappings is services.mapping_admin
    assert services.suggestions.usage is services.usage
    assert services.mapping_admin.history is services.history
    assert services.knowledge.titles is services.titles
    assert services.knowledge.upstream is services.upstream
    assert services.schema_head == migrate.head()  # what /readyz compares the database with
    assert services.usage.record in services.on_answer and services.usage.flush in services.on_close
    with app.app_context():
        assert current_services() is services


def test_services_use_the_title_table_they_are_handed(tmp_path):
    """``serve`` builds the table once, before forking, and hands it to every worker's services."""
    titles = TitleTable()
    services = build_services(Settings(data_dir=str(tmp_path)), warm=False, titles=titles)
    try:
        assert services.titles is titles and services.knowledge.titles is titles
    finally:
        services.close()
