{#
    Every selection of the orders in `orders_cte` (a CTE with base_toast__orders' columns): the
    menu item selections of each check and, recursively, their modifiers (modifiers of
    modifiers too), one row each with its check, its parent selection and its depth (0 = a
    check's selection). Emits CTEs ending in one named `selection_tree`; the model's WITH must
    be `with recursive`.

    Only selections that have modifiers enter the recursion, which parses their `modifiers`
    JSON; the (many) top-level selections are unnested straight from the parsed order.
    A modifier's price is already inside its parent's preDiscountPrice and price: sums over
    amounts take depth-0 rows only.

    The CTEs are NOT MATERIALIZED, and `orders_cte` must be too: each is read more than once
    (the recursion's anchor, the union, a model's check-level rows), and DuckDB would
    otherwise store every check and selection of the orders whole before reading them. A
    first build of 2.7 M orders spilled 35 GB that way; reading the parsed orders again costs
    far less.
#}
{% macro toast_selection_tree(orders_cte='orders') -%}
{%- set keys = 'restaurant_guid, order_guid, order_business_date, revenue_center_guid, '
    ~ '_dlt_load_id' -%}
tree_checks as not materialized (

    select
        {{ keys }},
        unnest({{ orders_cte }}.order_doc.checks) as check_doc
    from {{ orders_cte }}

),

top_selections as not materialized (

    select
        {{ keys }},
        check_doc.guid as check_guid,
        cast(null as varchar) as parent_selection_guid,
        0 as selection_depth,
        unnest(check_doc.selections) as selection_doc
    from tree_checks

),

modifier_selections as (

    select
        {{ keys }},
        check_guid,
        selection_doc.guid as parent_selection_guid,
        1 as selection_depth,
        unnest(from_json(selection_doc.modifiers,
                         '{{ toast_selection_list_structure() }}')) as selection_doc
    from top_selections
    where json_array_length(selection_doc.modifiers) > 0

    union all

    select
        {{ keys }},
        check_guid,
        selection_doc.guid as parent_selection_guid,
        selection_depth + 1 as selection_depth,
        unnest(from_json(selection_doc.modifiers,
                         '{{ toast_selection_list_structure() }}')) as selection_doc
    from modifier_selections
    where json_array_length(selection_doc.modifiers) > 0

),

selection_tree as (

    select * from top_selections
    union all
    select * from modifier_selections

)
{%- endmacro %}
