-- Where each Toast thing the journals meet posts: one row per location and mapping, the union
-- of the int_<kind>_mappings_resolved models (one per mapping seed; mapping_kind in
-- parentheses):
--   sales category -> revenue and discount accounts (sales_category_revenue,
--   sales_category_discount), discount -> own account (discount), revenue center -> dimension
--   (revenue_center), service charge (service_charge), tax rate (tax_rate, facilitator_tax),
--   payment type -> tender account (payment_type), job -> labor expense (job), role -> account
--   (account_role), location -> ERP company (location).
--
-- Things come from the journal legs (everything the orders used) and from Toast's
-- configuration (everything configured, used or not). Matching (seeds/_seeds.yml,
-- macros/finance/finance_mappings.sql): a guid row beats a name row, a location's row beats a
-- '*' row, a named row beats a '*' name; rows with an empty account are ignored. A resolved
-- account must be an active row of chart_of_accounts. What does not resolve says why, which
-- seed file to edit and the CSV row to add there (account left empty for the accountant);
-- journal_lines then uses the fallback role's account and holds the journal.
--
-- The kind models are views over int_leg_sources_deduplicated (the legs read once) and the
-- seeds; this table is where they are computed, once per build.

with

sales_category_mappings as (
    select * from {{ ref('int_sales_category_mappings_resolved') }}
),

discount_mappings as (
    select * from {{ ref('int_discount_mappings_resolved') }}
),

revenue_center_mappings as (
    select * from {{ ref('int_revenue_center_mappings_resolved') }}
),

service_charge_mappings as (
    select * from {{ ref('int_service_charge_mappings_resolved') }}
),

tax_rate_mappings as (
    select * from {{ ref('int_tax_rate_mappings_resolved') }}
),

payment_type_mappings as (
    select * from {{ ref('int_payment_type_mappings_resolved') }}
),

job_mappings as (
    select * from {{ ref('int_job_mappings_resolved') }}
),

account_role_mappings as (
    select * from {{ ref('int_account_role_mappings_resolved') }}
),

location_mappings as (
    select * from {{ ref('int_location_mappings_resolved') }}
),

final as (
    select * from sales_category_mappings
    union all
    select * from discount_mappings
    union all
    select * from revenue_center_mappings
    union all
    select * from service_charge_mappings
    union all
    select * from tax_rate_mappings
    union all
    select * from payment_type_mappings
    union all
    select * from job_mappings
    union all
    select * from account_role_mappings
    union all
    select * from location_mappings
)

select * from final
