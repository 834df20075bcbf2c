//! moto server, started per test on 127.0.0.1 and a free port, stopped on drop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

pub const ACCOUNT: &str = "123456789012";

pub struct Moto {
    child: Child,
    port: u16,
}

fn moto_server() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let venv = super::root().join(".venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub fn start() -> Moto {
        let port = super::free_port();
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto_server ({e}): run the README's test command, which installs it in .venv, or set MOTO_SERVER"
                )
            });
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if moto.get("/moto-api/reset-auth").is_some() || moto.get("/moto-api/").is_some() {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not answer on 127.0.0.1:{port} within 60 s");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A raw GET, for moto's own API. Returns the body on a 2xx answer.
    pub fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).ok()?;
        let (head, body) = buf.split_once("\r\n\r\n")?;
        let ok = head.split_whitespace().nth(1)?.starts_with('2');
        ok.then(|| body.to_string())
    }

    /// Creates an S3 bucket with a raw request (moto routes it by the signing scope and does not
    /// check signatures), so the tests need no S3 SDK just to give trails a bucket.
    pub fn create_bucket(&self, name: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0\r\nx-amz-date: 20240101T000000Z\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        assert!(
            buf.starts_with("HTTP/1.1 200"),
            "create bucket {name}: {buf}"
        );
    }

    /// The environment a process under test needs to reach moto through the SDK's own
    /// `AWS_ENDPOINT_URL` setting.
    pub fn env(&self, region: &str) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", region.to_string()),
            ("AWS_DEFAULT_REGION", region.to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// SDK configuration for the test's own set-up and assertions.
    pub async fn sdk(&self, region: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .http_client(mamoru::aws::http_client())
            .endpoint_url(self.endpoint())
            .region(Region::new(region.to_string()))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }

    /// SDK configuration acting in another account: moto binds resources to the account of the
    /// credentials an AssumeRole into that account returns.
    pub async fn sdk_in(&self, account: &str, region: &str) -> SdkConfig {
        let hub = self.sdk(region).await;
        let creds = aws_sdk_sts::Client::new(&hub)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/test-setup"))
            .role_session_name("test-setup")
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap();
        hub.to_builder()
            .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(
                aws_sdk_sqs::config::Credentials::new(
                    creds.access_key_id,
                    creds.secret_access_key,
                    Some(creds.session_token),
                    None,
                    "tests",
                ),
            ))
            .build()
    }

    /// Creates an SNS topic with an SQS queue subscribed (raw delivery off: the queue receives
    /// the SNS envelope). Returns (topic ARN, queue URL).
    pub async fn topic_with_queue(&self, region: &str, name: &str) -> (String, String) {
        let sdk = self.sdk(region).await;
        let sns = aws_sdk_sns::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let topic = sns
            .create_topic()
            .name(name)
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{name}-inbox"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue_arn = format!("arn:aws:sqs:{region}:{ACCOUNT}:{name}-inbox");
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();
        (topic, queue_url)
    }

    /// Creates a queue `{name}` and subscribes it to `topic`, with raw message delivery on or
    /// off and an optional filter policy (on message attributes). Returns the queue URL.
    pub async fn subscribe_queue(
        &self,
        region: &str,
        topic: &str,
        name: &str,
        raw: bool,
        filter_policy: Option<&str>,
    ) -> String {
        let sdk = self.sdk(region).await;
        let sns = aws_sdk_sns::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let mut req = sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:{region}:{ACCOUNT}:{name}"))
            .attributes("RawMessageDelivery", raw.to_string());
        if let Some(policy) = filter_policy {
            req = req.attributes("FilterPolicy", policy);
        }
        req.send().await.unwrap();
        queue_url
    }

    /// Subscribes an HTTP(S) endpoint to `topic` with the given protocol.
    pub async fn subscribe_endpoint(&self, region: &str, topic: &str, protocol: &str, url: &str) {
        let sns = aws_sdk_sns::Client::new(&self.sdk(region).await);
        sns.subscribe()
            .topic_arn(topic)
            .protocol(protocol)
            .endpoint(url)
            .send()
            .await
            .unwrap();
    }

    /// Every message waiting in a queue, with its SQS message attributes as
    /// `{name: {"DataType": …, "StringValue": …}}` (deleted once read).
    pub async fn drain_with_attributes(
        &self,
        region: &str,
        queue_url: &str,
    ) -> Vec<(String, serde_json::Value)> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk(region).await);
        let mut out = Vec::new();
        loop {
            let res = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .unwrap();
            let msgs = res.messages.unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                let mut attributes = serde_json::Map::new();
                for (name, a) in m.message_attributes.unwrap_or_default() {
                    attributes.insert(
                        name,
                        serde_json::json!({
                            "DataType": a.data_type,
                            "StringValue": a.string_value,
                        }),
                    );
                }
                out.push((
                    m.body.unwrap_or_default(),
                    serde_json::Value::Object(attributes),
                ));
                if let Some(h) = m.receipt_handle {
                    sqs.delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(h)
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
        out
    }

    /// Every message waiting in a queue (bodies parsed as JSON where they are JSON).
    pub async fn drain(&self, region: &str, queue_url: &str) -> Vec<serde_json::Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk(region).await);
        let mut out = Vec::new();
        loop {
            let res = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let msgs = res.messages.unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                let body = m.body.unwrap_or_default();
                out.push(serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)));
                if let Some(h) = m.receipt_handle {
                    sqs.delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(h)
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
        out
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
