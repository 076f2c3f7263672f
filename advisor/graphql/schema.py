"""The schema with its limits: query depth, tokens and aliases are refused past the settings."""

from __future__ import annotations

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)

from advisor.graphql.types import Query
from advisor.settings import Settings


def internal(error: GraphQLError) -> bool:
    """Mask what a resolver raised (it may name internals); limits and syntax errors stay."""
    return error.original_error is not None


def build_schema(settings: Settings) -> strawberry.Schema:
    """The read-only schema (no mutations, no subscriptions) with the configured limits."""
    return strawberry.Schema(
        query=Query,
        extensions=[
            partial(QueryDepthLimiter, max_depth=settings.graphql_max_depth),
            partial(MaxTokensLimiter, max_token_count=settings.graphql_max_tokens),
            partial(MaxAliasesLimiter, max_alias_count=settings.graphql_max_aliases),
            partial(MaskErrors, should_mask_error=internal),
        ],
    )
