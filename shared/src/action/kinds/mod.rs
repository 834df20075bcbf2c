//! One file per action. The registry in `action/mod.rs` lists them.

pub mod contain_lambda_function;
pub mod create_detector;
pub mod deactivate_access_key;
pub mod deactivate_ip_set;
pub mod enable_detector;
pub mod enable_region_detectors;
pub mod enable_rule;
pub mod isolate_instance;
pub mod quarantine_user;
pub mod restore_bucket_public_access_block;
pub mod restore_management_events;
pub mod revoke_role_sessions;
pub mod revoke_world_open_admin_ingress;
pub mod start_configuration_recorder;
pub mod start_logging;
pub mod start_stopped_trails;
pub mod tag_malicious_object;
