"""/openapi.json: a valid OpenAPI 3.1 document that describes every admin API route and the public
read-only surface."""

from openapi_spec_validator import validate

from infobutton.mappings.openapi import document


def test_served_document_is_valid_openapi_3_1(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["openapi"].startswith("3.1")
    validate(body)


def test_every_admin_api_route_is_documented(app):
    documented = {
        (path, method.upper())
        for path, item in document()["paths"].items()
        for method in item
        if method != "parameters"
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/api/"):
            path = rule.rule.replace("<int:rule_id>", "{id}").replace("<int:n>", "{n}")
            path = path.replace("<name>", "{name}")
            routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == {(path, method) for path, method in documented if path.startswith("/admin/api/")}


def test_the_public_read_only_surface_is_documented_as_served(app):
    """/infobutton, /service, /application (GET and form POST), CDS discovery and /healthz: each
    documented with the methods its route takes, no token required."""
    from infobutton.mappings.openapi import PUBLIC_PATHS

    doc = document()
    served = {rule.rule: rule.methods - {"HEAD", "OPTIONS"} for rule in app.url_map.iter_rules()}
    assert set(PUBLIC_PATHS) == {"/infobutton", "/service", "/application", "/cds-services", "/healthz"}
    for path in PUBLIC_PATHS:
        item = doc["paths"][path]
        assert {m.upper() for m in item} <= served[path], path
        assert all(op["security"] == [] for op in item.values())
    params = {p["name"] for p in doc["paths"]["/infobutton"]["get"]["parameters"]}
    assert {"mainSearchCriteria.v.c", "mainSearchCriteria.v.cs", "knowledgeResponseType", "callback"} <= params
    answer = doc["paths"]["/infobutton"]["get"]["responses"]["200"]["content"]
    assert {"text/xml", "application/json", "text/javascript", "application/fhir+json", "text/html"} <= set(answer)
    assert "503" in doc["paths"]["/infobutton"]["get"]["responses"]


def test_request_schemas_and_query_parameters_come_from_the_models():
    from infobutton.mappings import schemas

    doc = document()
    components = doc["components"]["schemas"]
    for model in schemas.BODIES:
        assert components[model.__name__] == model.model_json_schema(ref_template="#/components/schemas/{model}")
    create = doc["paths"]["/admin/api/tokens"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create == {"$ref": "#/components/schemas/TokenInput"}
    imported = {p["name"]: p for p in doc["paths"]["/admin/api/mappings/import"]["post"]["parameters"]}
    assert set(imported) == set(schemas.ImportQuery.model_fields)
    assert imported["base_version"]["schema"] == {"type": "integer", "minimum": 0, "maximum": 10**12}
    unreject = {
        p["name"]: p["required"] for p in doc["paths"]["/admin/api/suggestions/rejections"]["delete"]["parameters"]
    }
    assert unreject == {"code_system": False, "code": True, "topic_id": True, "reason": False}


def test_the_context_limits_are_documented_with_their_codes():
    from infobutton.models import AGE_GROUPS, SETTINGS, TASKS

    doc = document()["components"]["schemas"]
    expected = {
        "audiences": ["PAT", "PROV", "PAYOR"],
        "tasks": list(TASKS),
        "settings": list(SETTINGS),
        "languages": ["en", "es"],
        "age_groups": list(AGE_GROUPS),
    }
    for field, codes in expected.items():
        for schema in (doc["Mapping"], doc["MappingInput"]):
            prop = schema["properties"][field]
            assert prop["type"] == "array" and prop["items"]["enum"] == codes, field
    assert "ageGroup.v.c" in doc["MappingInput"]["properties"]["age_groups"]["description"]
