//! The side effects of the pipeline, behind two narrow traits: remediate (run one action in the
//! account that owns its resource) and publish (send one notification). The responder decides
//! what runs (`responder::hold`: shadow rules and dry-run, in one place) and calls these only
//! for what does. The AWS implementations are [`crate::action::Actor`] and
//! [`crate::notify::Notifier`]; [`Recording`] keeps everything in memory, for tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use super::{Action, Actor, Outcome, Status};
use crate::notify::{Message, Notifier, NotifyError};

/// A future the ports return: `Send`, so a function can run events concurrently.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs one action. Never panics: every error is a `Failed` outcome.
pub trait Remediate: Send + Sync {
    fn remediate<'a>(&'a self, event_id: &'a str, action: &'a Action) -> BoxFuture<'a, Outcome>;
}

/// Publishes one notification; the message id on success.
pub trait Publish: Send + Sync {
    fn publish<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<String, NotifyError>>;
}

impl Remediate for Actor {
    fn remediate<'a>(&'a self, event_id: &'a str, action: &'a Action) -> BoxFuture<'a, Outcome> {
        Box::pin(self.execute(event_id, action))
    }
}

impl Publish for Notifier {
    fn publish<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<String, NotifyError>> {
        Box::pin(Notifier::publish(self, message))
    }
}

/// In memory: records every action asked for and every message published. Actions succeed
/// (`Done`) unless a status is set for their kind.
#[derive(Default)]
pub struct Recording {
    pub actions: Mutex<Vec<(String, Action)>>,
    pub messages: Mutex<Vec<Message>>,
    pub answer: Mutex<Vec<(super::ActionKind, Status, String)>>,
}

impl Recording {
    /// Answers every action of `kind` with `status` and `message`.
    pub fn answer(&self, kind: super::ActionKind, status: Status, message: &str) {
        lock(&self.answer).push((kind, status, message.to_string()));
    }

    pub fn actions(&self) -> Vec<(String, Action)> {
        lock(&self.actions).clone()
    }

    pub fn messages(&self) -> Vec<Message> {
        lock(&self.messages).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Remediate for Recording {
    fn remediate<'a>(&'a self, event_id: &'a str, action: &'a Action) -> BoxFuture<'a, Outcome> {
        lock(&self.actions).push((event_id.to_string(), action.clone()));
        let answer = lock(&self.answer)
            .iter()
            .find(|(k, _, _)| *k == action.kind)
            .map(|(_, s, m)| (*s, m.clone()));
        let (status, message) = answer.unwrap_or((Status::Done, "done (recorded)".to_string()));
        Box::pin(async move { Outcome::new(action, status, message) })
    }
}

impl Publish for Recording {
    fn publish<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<String, NotifyError>> {
        let mut m = lock(&self.messages);
        m.push(message.clone());
        let id = format!("recorded-{}", m.len());
        Box::pin(async move { Ok(id) })
    }
}
