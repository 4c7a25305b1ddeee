"""The local runtime's template reader: intrinsics and creation order."""

from __future__ import annotations

import pytest

from tenantry_local.provisioner import substitute
from tenantry_local.template import Resolver, creation_order


def test_intrinsics_resolve_against_parameters_pseudo_parameters_and_attributes():
    resolver = Resolver("stack", {"Bus": "tenantry"}, attributes={"Table": {"Ref": "t1", "Arn": "arn:t1"}})
    assert resolver.resolve({"Ref": "Bus"}) == "tenantry"
    assert resolver.resolve({"Fn::GetAtt": ["Table", "Arn"]}) == "arn:t1"
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${Table}-${Table.Arn}"}) == "stack-t1-arn:t1"
    assert resolver.resolve({"Fn::Sub": ["${X}/idx", {"X": {"Ref": "Table"}}]}) == "t1/idx"
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Bus"}]]}) == "a-tenantry"
    assert resolver.resolve({"Prop": {"Ref": "AWS::NoValue"}, "Keep": 1}) == {"Keep": 1}


def test_creation_order_puts_every_resource_after_what_it_references():
    resources = {
        "Machine": {"Properties": {"Subs": {"Fn": {"Fn::GetAtt": ["Fn", "Arn"]}}}},
        "Fn": {"Properties": {"Env": {"Fn::Sub": "${Table}"}}},
        "Table": {"Properties": {}},
        "Rule": {"DependsOn": "Machine", "Properties": {}},
    }
    order = creation_order(resources)
    assert order.index("Table") < order.index("Fn") < order.index("Machine") < order.index("Rule")
    with pytest.raises(ValueError, match="circular"):
        creation_order({"A": {"Properties": {"x": {"Ref": "B"}}}, "B": {"Properties": {"x": {"Ref": "A"}}}})


def test_definition_substitutions_refuse_unknown_placeholders():
    assert substitute('{"F": "${Fn}"}', {"Fn": "arn:f"}) == '{"F": "arn:f"}'
    with pytest.raises(KeyError, match="Missing"):
        substitute('{"F": "${Missing}"}', {})
