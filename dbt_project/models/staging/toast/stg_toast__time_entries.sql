{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['restaurant_guid', 'time_entry_guid'],
    on_schema_change='fail',
) }}

with time_entries as (

    select * from {{ source('toast', 'time_entries') }} as raw_time_entries
    {% if is_incremental() -%}
    where raw_time_entries._dlt_load_id > (
        select coalesce(max(existing._dlt_load_id), '') from {{ this }} as existing
    )
    {%- endif %}

),

parsed as (

    select
        restaurant_guid,
        time_entry_guid,
        business_date,
        _dlt_load_id,
        from_json(entry_json, '{
            "jobReference": {"guid": "VARCHAR"},
            "employeeReference": {"guid": "VARCHAR"},
            "shiftReference": {"guid": "VARCHAR"},
            "businessDate": "VARCHAR",
            "inDate": "VARCHAR",
            "outDate": "VARCHAR",
            "modifiedDate": "VARCHAR",
            "deletedDate": "VARCHAR",
            "deleted": "BOOLEAN",
            "autoClockedOut": "BOOLEAN",
            "regularHours": "VARCHAR",
            "overtimeHours": "VARCHAR",
            "hourlyWage": "VARCHAR",
            "declaredCashTips": "VARCHAR",
            "nonCashTips": "VARCHAR",
            "cashGratuityServiceCharges": "VARCHAR",
            "nonCashGratuityServiceCharges": "VARCHAR",
            "tipsWithheld": "VARCHAR"
        }') as entry_doc
    from time_entries

),

final as (

    select
        restaurant_guid,
        time_entry_guid,
        entry_doc.jobReference.guid as job_guid,
        entry_doc.employeeReference.guid as employee_guid,
        entry_doc.shiftReference.guid as shift_guid,
        coalesce({{ toast_date('entry_doc.businessDate') }}, business_date) as business_date,
        {{ toast_timestamp('entry_doc.inDate') }} as in_at,
        {{ toast_timestamp('entry_doc.outDate') }} as out_at,
        {{ toast_timestamp('entry_doc.modifiedDate') }} as modified_at,
        {{ quantity_decimal('entry_doc.regularHours') }} as regular_hours,
        {{ quantity_decimal('entry_doc.overtimeHours') }} as overtime_hours,
        {{ rate_decimal('entry_doc.hourlyWage') }} as hourly_wage,
        {{ money('entry_doc.declaredCashTips') }} as declared_cash_tips,
        {{ money('entry_doc.nonCashTips') }} as non_cash_tips,
        {{ money('entry_doc.cashGratuityServiceCharges') }} as cash_gratuity_service_charges,
        {{ money('entry_doc.nonCashGratuityServiceCharges') }} as non_cash_gratuity_service_charges,
        {{ money('entry_doc.tipsWithheld') }} as tips_withheld,
        coalesce(entry_doc.deleted, false) as deleted,
        {{ toast_timestamp('entry_doc.deletedDate', placeholder_epoch=true) }} as deleted_at,
        coalesce(entry_doc.autoClockedOut, false) as auto_clocked_out,
        _dlt_load_id
    from parsed

)

select * from final
