{#
    No two rows share the same combination of `columns` (none of them null either).
    Usage: data_tests: [{finance_unique_key: {arguments: {columns: [a, b]}}}] on the model.
#}
{% test finance_unique_key(model, columns) %}
    select
        {{ columns | join(', ') }},
        count(*) as duplicate_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
        or {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}
