"""What the generated Swagger spec says once for every operation, so it tells the truth:

- every operation may answer any of the central error statuses, with the error body;
- a non-required field of a response model may be null (RESTX marshals a missing value as
  null), while request models keep exactly what validation accepts;
- an operation that produces files (CSV, PDF) answers its errors in JSON.
"""

ERROR_STATUSES = {
    "400": "Malformed request (not JSON, or nested too deep)",
    "401": "No valid token, or a token that does not fit",
    "403": "Your role does not allow this",
    "404": "No such resource (or not yours)",
    "409": "Conflicts with the current state",
    "413": "Request body too large",
    "415": "Body not sent as application/json",
    "422": "Invalid values; `errors` names the fields",
    "429": "Rate limited; see Retry-After",
}
ERROR_REF = {"$ref": "#/definitions/Error"}


def complete(spec):
    """Complete a RESTX-generated Swagger 2.0 spec in place (see the module docstring)."""
    requests, responses = set(), set()
    for path_item in spec.get("paths", {}).values():
        for method, operation in path_item.items():
            if method == "parameters":
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "body":
                    _collect(spec, parameter.get("schema"), requests)
            for status, response in operation.get("responses", {}).items():
                if status.startswith("2"):
                    _collect(spec, response.get("schema"), responses)
            _document_errors(operation)
            produces = operation.get("produces")
            if produces and "application/json" not in produces:
                operation["produces"] = [*produces, "application/json"]
    for name in responses - requests:
        _nullable_fields(spec["definitions"][name])
    return spec


def _document_errors(operation):
    documented = operation.setdefault("responses", {})
    for status, description in ERROR_STATUSES.items():
        documented.setdefault(status, {"description": description, "schema": ERROR_REF})


def _collect(spec, schema, found):
    """Add the names of the definitions a schema refers to, transitively."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    stack.append(spec["definitions"].get(name))
            stack.extend(value for key, value in node.items() if key != "$ref")


def _nullable_fields(definition):
    parts = [definition, *definition.get("allOf", [])]
    for part in parts:
        required = set(part.get("required", []))
        for name, field in part.get("properties", {}).items():
            if name not in required:
                field["x-nullable"] = True
