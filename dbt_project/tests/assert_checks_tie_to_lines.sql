-- Unnesting tie, as an error: every check of the recent loads equals its own lines by Toast's
-- formulas (check.amount = Σ top-level selection price + Σ non-gratuity service charges;
-- check.taxAmount = Σ selection tax + Σ service charge taxes). The only proof that the orders
-- were unnested completely and that modifiers were not counted twice: a failure stops posting.
-- The test itself is macros/toast_tests.sql (toast_check_ties_to_lines); a failing row names
-- the check and both sides.
{{ config(severity='error') }}

{{ test_toast_check_ties_to_lines(
    model=ref('stg_toast__checks'),
    selections=ref('stg_toast__selections'),
    applied_service_charges=ref('stg_toast__applied_service_charges'),
    applied_taxes=ref('stg_toast__applied_taxes'),
) }}
