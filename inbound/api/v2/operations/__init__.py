"""SES v2 operations: one async function per operation of the `sesv2` model, with v1's handler
signature (`api/query/operations`): the boto3-shaped input and the same narrow
`OperationContext`, on the same services, so both APIs share one account's state.

Operations of the model missing here answer 501 `NotImplemented` naming them (`routes.py`);
`tests/api/v2/test_model.py` lists them.
"""

from __future__ import annotations

from collections.abc import Mapping

from inbound.api.query.operations import Handler
from inbound.api.v2.operations import (
    absent,
    account,
    certificates,
    configuration_sets,
    contact_lists,
    dedicated,
    endpoints,
    event_destinations,
    export_jobs,
    identities,
    import_jobs,
    insights,
    policies,
    reputation,
    send,
    suppression,
    tags,
    templates,
    tenants,
    verification,
)

V2_OPERATIONS: Mapping[str, Handler] = {
    "GetAccount": account.get_account,
    "PutAccountSendingAttributes": account.put_account_sending_attributes,
    "PutAccountDetails": account.put_account_details,
    "PutAccountVdmAttributes": account.put_account_vdm_attributes,
    "PutAccountDedicatedIpWarmupAttributes": account.put_account_dedicated_ip_warmup_attributes,
    "PutAccountPricingAttributes": account.put_account_pricing_attributes,
    "PutAccountDeliveryAttributes": account.put_account_delivery_attributes,
    "PutAccountSuppressionAttributes": suppression.put_account_suppression_attributes,
    "PutSuppressedDestination": suppression.put_suppressed_destination,
    "GetSuppressedDestination": suppression.get_suppressed_destination,
    "ListSuppressedDestinations": suppression.list_suppressed_destinations,
    "DeleteSuppressedDestination": suppression.delete_suppressed_destination,
    "CreateImportJob": import_jobs.create_import_job,
    "GetImportJob": import_jobs.get_import_job,
    "ListImportJobs": import_jobs.list_import_jobs,
    "CreateEmailIdentity": identities.create_email_identity,
    "GetEmailIdentity": identities.get_email_identity,
    "ListEmailIdentities": identities.list_email_identities,
    "DeleteEmailIdentity": identities.delete_email_identity,
    "PutEmailIdentityDkimAttributes": identities.put_email_identity_dkim_attributes,
    "PutEmailIdentityDkimSigningAttributes": (
        identities.put_email_identity_dkim_signing_attributes
    ),
    "PutEmailIdentityConfigurationSetAttributes": (
        identities.put_email_identity_configuration_set_attributes
    ),
    "PutEmailIdentityFeedbackAttributes": identities.put_email_identity_feedback_attributes,
    "PutEmailIdentityMailFromAttributes": identities.put_email_identity_mail_from_attributes,
    "AssociateEmailIdentityCertificate": certificates.associate_email_identity_certificate,
    "DisassociateEmailIdentityCertificate": (certificates.disassociate_email_identity_certificate),
    "ListEmailIdentityCertificates": certificates.list_email_identity_certificates,
    "CreateEmailIdentityPolicy": policies.create_email_identity_policy,
    "UpdateEmailIdentityPolicy": policies.update_email_identity_policy,
    "DeleteEmailIdentityPolicy": policies.delete_email_identity_policy,
    "GetEmailIdentityPolicies": policies.get_email_identity_policies,
    "CreateEmailTemplate": templates.create_email_template,
    "GetEmailTemplate": templates.get_email_template,
    "ListEmailTemplates": templates.list_email_templates,
    "UpdateEmailTemplate": templates.update_email_template,
    "DeleteEmailTemplate": templates.delete_email_template,
    "TestRenderEmailTemplate": templates.test_render_email_template,
    "CreateConfigurationSet": configuration_sets.create_configuration_set,
    "GetConfigurationSet": configuration_sets.get_configuration_set,
    "ListConfigurationSets": configuration_sets.list_configuration_sets,
    "DeleteConfigurationSet": configuration_sets.delete_configuration_set,
    "UpdateConfigurationSet": configuration_sets.update_configuration_set,
    "PutConfigurationSetDeliveryOptions": configuration_sets.put_configuration_set_delivery_options,
    "PutConfigurationSetReputationOptions": (
        configuration_sets.put_configuration_set_reputation_options
    ),
    "PutConfigurationSetSendingOptions": configuration_sets.put_configuration_set_sending_options,
    "PutConfigurationSetTrackingOptions": configuration_sets.put_configuration_set_tracking_options,
    "PutConfigurationSetArchivingOptions": (
        configuration_sets.put_configuration_set_archiving_options
    ),
    "PutConfigurationSetVdmOptions": configuration_sets.put_configuration_set_vdm_options,
    "PutConfigurationSetSuppressionOptions": (
        configuration_sets.put_configuration_set_suppression_options
    ),
    "CreateConfigurationSetEventDestination": (
        event_destinations.create_configuration_set_event_destination
    ),
    "GetConfigurationSetEventDestinations": (
        event_destinations.get_configuration_set_event_destinations
    ),
    "UpdateConfigurationSetEventDestination": (
        event_destinations.update_configuration_set_event_destination
    ),
    "DeleteConfigurationSetEventDestination": (
        event_destinations.delete_configuration_set_event_destination
    ),
    "CreateContactList": contact_lists.create_contact_list,
    "GetContactList": contact_lists.get_contact_list,
    "ListContactLists": contact_lists.list_contact_lists,
    "UpdateContactList": contact_lists.update_contact_list,
    "DeleteContactList": contact_lists.delete_contact_list,
    "CreateContact": contact_lists.create_contact,
    "GetContact": contact_lists.get_contact,
    "ListContacts": contact_lists.list_contacts,
    "UpdateContact": contact_lists.update_contact,
    "DeleteContact": contact_lists.delete_contact,
    "BatchGetMetricData": insights.batch_get_metric_data,
    "GetMessageInsights": insights.get_message_insights,
    "GetEmailAddressInsights": insights.get_email_address_insights,
    "CreateExportJob": export_jobs.create_export_job,
    "GetExportJob": export_jobs.get_export_job,
    "ListExportJobs": export_jobs.list_export_jobs,
    "CancelExportJob": export_jobs.cancel_export_job,
    "SendEmail": send.send_email,
    "SendBulkEmail": send.send_bulk_email,
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "ListTagsForResource": tags.list_tags_for_resource,
    **absent.OPERATIONS,
    "CreateDedicatedIpPool": dedicated.create_dedicated_ip_pool,
    **tenants.OPERATIONS,
    **reputation.OPERATIONS,
    **endpoints.OPERATIONS,
    "GetDedicatedIps": dedicated.get_dedicated_ips,
    "ListDedicatedIpPools": dedicated.list_dedicated_ip_pools,
    "GetDedicatedIp": dedicated.get_dedicated_ip,
    "PutDedicatedIpInPool": dedicated.put_dedicated_ip_in_pool,
    "PutDedicatedIpWarmupAttributes": dedicated.put_dedicated_ip_warmup_attributes,
    "GetDedicatedIpPool": dedicated.get_dedicated_ip_pool,
    "DeleteDedicatedIpPool": dedicated.delete_dedicated_ip_pool,
    "PutDedicatedIpPoolScalingAttributes": dedicated.put_dedicated_ip_pool_scaling_attributes,
    "GetDeliverabilityDashboardOptions": dedicated.get_deliverability_dashboard_options,
    "ListDeliverabilityTestReports": dedicated.list_deliverability_test_reports,
    "GetDeliverabilityTestReport": dedicated.get_deliverability_test_report,
    "GetDomainDeliverabilityCampaign": dedicated.get_domain_deliverability_campaign,
    "PutDeliverabilityDashboardOption": dedicated.put_deliverability_dashboard_option,
    "CreateDeliverabilityTestReport": dedicated.create_deliverability_test_report,
    "GetBlacklistReports": dedicated.get_blacklist_reports,
    "GetDomainStatisticsReport": dedicated.get_domain_statistics_report,
    "ListDomainDeliverabilityCampaigns": dedicated.list_domain_deliverability_campaigns,
    "CreateCustomVerificationEmailTemplate": (
        verification.create_custom_verification_email_template
    ),
    "GetCustomVerificationEmailTemplate": verification.get_custom_verification_email_template,
    "ListCustomVerificationEmailTemplates": (verification.list_custom_verification_email_templates),
    "UpdateCustomVerificationEmailTemplate": (
        verification.update_custom_verification_email_template
    ),
    "DeleteCustomVerificationEmailTemplate": (
        verification.delete_custom_verification_email_template
    ),
    "SendCustomVerificationEmail": verification.send_custom_verification_email,
}
