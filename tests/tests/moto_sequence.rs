//! Attack-sequence actions over the real AWS wire protocol: `mamoru replay --execute` runs the
//! pipeline on an `AttackSequence:IAM/CompromisedCredentials` finding against moto server, and
//! the keys' state is read back from moto.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Moto, binary};
use serde_json::{Value, json};

const FIXTURE: &str = "aws.guardduty/finding-attacksequence-iam-compromisedcredentials.json";

/// Runs `mamoru replay --json --execute` on one event; the report.
fn replay_execute(moto: &Moto, event: &str) -> Value {
    let dir = std::env::temp_dir().join(format!(
        "mamoru-test-seq-{}-{}",
        std::process::id(),
        moto.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("event.json");
    std::fs::write(&file, event).unwrap();
    let out = Command::new(binary("mamoru"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env("us-east-1"))
        .args(["replay", "--json", "--execute"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().next().unwrap()).unwrap()
}

fn key_resource(key: &str, user: &str, user_type: &str) -> Value {
    json!({
        "uid": key,
        "resourceType": "ACCESS_KEY",
        "accountId": "123456789012",
        "cloudPartition": "aws",
        "data": {"accessKey": {"principalId": "AIDAEXAMPLE", "userName": user, "userType": user_type}}
    })
}

// proves: guardduty-attack-sequence-keys
#[tokio::test]
async fn the_keys_a_sequence_lists_are_deactivated_and_the_others_stay_active() {
    // GIVEN alice with two keys, bob with two keys, carol with two keys; a sequence listing
    // alice's first key, bob's first key and a role's session key (ASIA)
    let moto = Moto::start();
    let (alice_1, alice_2) = scenario::user_with_two_keys(&moto, "alice").await;
    let (bob_1, bob_2) = scenario::user_with_two_keys(&moto, "bob").await;
    let (carol_1, carol_2) = scenario::user_with_two_keys(&moto, "carol").await;
    let event = event_with(FIXTURE, |v| {
        v["detail"]["service"]["detection"]["sequence"]["resources"] = json!([
            key_resource(&alice_1, "alice", "IAMUser"),
            key_resource(&bob_1, "bob", "IAMUser"),
            key_resource(
                "ASIAIOSFODNN7EXAMPLE",
                "ec2_instance_role_production",
                "AssumedRole"
            ),
        ]);
    });

    // WHEN mamoru executes the plan
    let report = replay_execute(&moto, &event);

    // THEN exactly the two listed long-term keys are Inactive; every other key is Active
    assert_eq!(report["disposition"], "remediate");
    let done: Vec<&str> = report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "done")
        .map(|o| o["params"]["AccessKeyId"].as_str().unwrap())
        .collect();
    assert_eq!(done, [alice_1.as_str(), bob_1.as_str()], "{report}");
    for (user, key, want) in [
        ("alice", &alice_1, "Inactive"),
        ("alice", &alice_2, "Active"),
        ("bob", &bob_1, "Inactive"),
        ("bob", &bob_2, "Active"),
        ("carol", &carol_1, "Active"),
        ("carol", &carol_2, "Active"),
    ] {
        assert_eq!(
            scenario::key_status(&moto, user, key).await,
            want,
            "{user} {key}"
        );
    }
    // AND the role's sessions are only reported (shadow), never an UpdateAccessKey on the ASIA key
    let role: Vec<&Value> = report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["api"] == "iam:PutRolePolicy")
        .collect();
    assert_eq!(role.len(), 1, "{report}");
    assert_eq!(role[0]["status"], "would_do");
    assert!(
        !report.to_string().contains("\"AccessKeyId\":\"ASIA"),
        "{report}"
    );
}
