//! Memory between events, behind one narrow trait ([`Store`]): which events were already
//! handled (EventBridge delivers at least once). Every operation is one conditional write, so
//! two deliveries handled at the same time cannot both win.
//!
//! The implementations: [`Memory`] (the CLI's replay and the pure tests) and, in the `mamoru`
//! crate, `mamoru::state::dynamodb::Table` (one DynamoDB table, `UpdateItem` with a condition,
//! nothing else).
//!
//! Keys start with the name of the function that owns them (`guardduty#event#<id>`): the stack
//! limits each function's role to its own prefix with `dynamodb:LeadingKeys`
//! ([`leading_keys`]).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// A future the store returns: `Send`, like the other ports.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long a handled event ID is remembered: a redelivery within this is dropped.
pub const EVENT_MEMORY_SECONDS: i64 = 24 * 3600;

/// The table could not be read or written. The caller decides what that means: the alert
/// still goes out (fail open for notification).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state table unreachable: {0}")]
pub struct StateError(pub String);

/// The answer to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Nobody holds the key: it is now this caller's.
    First,
    /// A live claim holds it (an event already handled, or being handled).
    Held,
}

/// The state store. Each call is one conditional write.
pub trait Store: Send + Sync {
    /// Claims `key` until `expires` (Unix seconds): [`Claim::First`] unless a claim made
    /// before, not released and not expired at `now`, holds it.
    fn claim<'a>(
        &'a self,
        key: &'a str,
        now: i64,
        expires: i64,
    ) -> BoxFuture<'a, Result<Claim, StateError>>;

    /// Releases a claim or a digest: the next claim of `key` is [`Claim::First`] again (an
    /// event whose handling failed is handled again when Lambda retries it), the next sighting
    /// alerts.
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StateError>>;

    /// Records one sighting of a finding (its digest under `key`): [`Sighting::Alert`] on first
    /// sight, when `sight.band` is above the band last alerted, when `sight.subject` (its
    /// resource and actor) was not seen before, or when the quiet period since the last alert
    /// is over; otherwise the update is counted and [`Sighting::Quiet`]. One conditional write
    /// when it alerts, two when it is counted.
    fn sight<'a>(
        &'a self,
        key: &'a str,
        sight: &'a Sight,
    ) -> BoxFuture<'a, Result<Sighting, StateError>>;

    /// Takes one unit of the budget under `key` (a window: its key names it) unless `limit`
    /// units were taken: `Some(units taken, this one included)`, or `None` when the budget is
    /// exhausted. One conditional write.
    fn take<'a>(
        &'a self,
        key: &'a str,
        limit: u64,
        expires: i64,
    ) -> BoxFuture<'a, Result<Option<u64>, StateError>>;

    /// Counts one event towards a windowed threshold under `key` (its key names the rule, the
    /// window and what it counts by): with `members`, the distinct members seen (an event can
    /// add several); with none, the events. [`Tally::Crossed`] for exactly the event that
    /// brings the count to `limit` or beyond, [`Tally::Past`] for every event after it in the
    /// window. One conditional write.
    fn tally<'a>(
        &'a self,
        key: &'a str,
        members: &'a [String],
        limit: u64,
        expires: i64,
    ) -> BoxFuture<'a, Result<Tally, StateError>>;
}

/// The answer of a windowed threshold ([`Store::tally`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// Below the limit: the count after this event.
    Below(u64),
    /// This event brought the count to the limit: the rule matches, once.
    Crossed,
    /// The limit was reached earlier in the window: no second match.
    Past,
}

/// The longest member a threshold stores: longer ones are cut (at a character boundary), so
/// that a window's item stays far below DynamoDB's 400 KB at the largest count
/// ([`MAX_THRESHOLD_COUNT`]).
pub const MAX_MEMBER_BYTES: usize = 256;

/// The largest `count` a threshold may have.
pub const MAX_THRESHOLD_COUNT: u64 = 1000;

/// A member as a threshold stores it: at most [`MAX_MEMBER_BYTES`].
pub fn member_text(member: &str) -> &str {
    if member.len() <= MAX_MEMBER_BYTES {
        return member;
    }
    let mut end = MAX_MEMBER_BYTES;
    while !member.is_char_boundary(end) {
        end -= 1;
    }
    &member[..end]
}

/// The key of a windowed threshold: the rule, the window (its index: event time / window
/// length) and what it counts by (a principal, an account, a field's value).
pub fn threshold_key(function: &str, rule_id: &str, window: i64, by: &str) -> String {
    format!("{}threshold#{rule_id}#{window}#{by}", prefix(function))
}

/// The key of a remediation budget: `scope` (an account, or a principal) in the hour `hour`
/// (Unix seconds / 3600).
pub fn budget_key(function: &str, scope: &str, hour: i64) -> String {
    format!("{}budget#{scope}#{hour}", prefix(function))
}
/// One update of a finding, as the digest compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sight {
    /// The severity band, as a number (higher is more severe).
    pub band: u8,
    /// The resource and the actor the update names, as one string.
    pub subject: String,
    pub now: i64,
    /// Seconds after an alert during which updates at the same band and subject are counted.
    pub quiet: i64,
    pub expires: i64,
}

/// The digest's answer for one update of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sighting {
    /// Alert. `suppressed` updates were counted since the last alert, at `since` (Unix
    /// seconds; `None` on first sight).
    Alert { suppressed: u64, since: Option<i64> },
    /// Counted, not alerted.
    Quiet,
}

/// The key of a finding's digest.
pub fn finding_key(function: &str, finding_id: &str) -> String {
    format!("{}finding#{finding_id}", prefix(function))
}

/// Default quiet period of the digest: a finding updated at the same band, resource and actor
/// alerts again after this.
pub const DEFAULT_QUIET_SECONDS: i64 = 24 * 3600;

/// The prefix every key of a function starts with: its name and `#`.
pub fn prefix(function: &str) -> String {
    format!("{function}#")
}

/// The key recording that an event was handled by `function`.
pub fn event_key(function: &str, event_id: &str) -> String {
    format!("{}event#{event_id}", prefix(function))
}

/// The key patterns a function's role may write (`dynamodb:LeadingKeys`): its own prefix.
pub fn leading_keys(function: &str) -> Vec<String> {
    vec![format!("{}*", prefix(function))]
}

/// The state in memory: for `mamoru replay` (a sequence of files in one run) and tests.
#[derive(Default)]
pub struct Memory {
    items: Mutex<HashMap<String, Item>>,
}

#[derive(Debug, Clone, Default)]
struct Item {
    expires: i64,
    released: bool,
    band: u8,
    alerted: i64,
    suppressed: u64,
    subjects: Vec<String>,
}

impl Memory {
    pub fn new() -> Memory {
        Memory::default()
    }

    fn items(&self) -> std::sync::MutexGuard<'_, HashMap<String, Item>> {
        match self.items.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl Store for Memory {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        now: i64,
        expires: i64,
    ) -> BoxFuture<'a, Result<Claim, StateError>> {
        let mut items = self.items();
        let answer = match items.get(key) {
            Some(item) if !item.released && item.expires > now => Claim::Held,
            _ => {
                items.insert(
                    key.to_string(),
                    Item {
                        expires,
                        ..Item::default()
                    },
                );
                Claim::First
            }
        };
        Box::pin(async move { Ok(answer) })
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        if let Some(item) = self.items().get_mut(key) {
            item.released = true;
        }
        Box::pin(async { Ok(()) })
    }

    fn sight<'a>(
        &'a self,
        key: &'a str,
        sight: &'a Sight,
    ) -> BoxFuture<'a, Result<Sighting, StateError>> {
        let mut items = self.items();
        let live = items
            .get(key)
            .filter(|i| !i.released && i.expires > sight.now)
            .cloned();
        let answer = match live {
            Some(old)
                if old.band >= sight.band
                    && old.subjects.contains(&sight.subject)
                    && old.alerted > sight.now - sight.quiet =>
            {
                if let Some(item) = items.get_mut(key) {
                    item.suppressed += 1;
                }
                Sighting::Quiet
            }
            old => {
                let (suppressed, since) = old
                    .as_ref()
                    .map_or((0, None), |o| (o.suppressed, Some(o.alerted)));
                // The subjects seen stay known (as DynamoDB's ADD keeps them).
                let mut subjects = items
                    .get(key)
                    .map(|i| i.subjects.clone())
                    .unwrap_or_default();
                if !subjects.contains(&sight.subject) {
                    subjects.push(sight.subject.clone());
                }
                items.insert(
                    key.to_string(),
                    Item {
                        expires: sight.expires,
                        released: false,
                        band: sight.band,
                        alerted: sight.now,
                        suppressed: 0,
                        subjects,
                    },
                );
                Sighting::Alert { suppressed, since }
            }
        };
        Box::pin(async move { Ok(answer) })
    }

    fn take<'a>(
        &'a self,
        key: &'a str,
        limit: u64,
        expires: i64,
    ) -> BoxFuture<'a, Result<Option<u64>, StateError>> {
        let mut items = self.items();
        let item = items.entry(key.to_string()).or_insert_with(|| Item {
            expires,
            ..Item::default()
        });
        let answer = if item.suppressed < limit {
            // A budget counts in `suppressed`: the units taken.
            item.suppressed += 1;
            Some(item.suppressed)
        } else {
            None
        };
        Box::pin(async move { Ok(answer) })
    }

    fn tally<'a>(
        &'a self,
        key: &'a str,
        members: &'a [String],
        limit: u64,
        expires: i64,
    ) -> BoxFuture<'a, Result<Tally, StateError>> {
        let mut items = self.items();
        let item = items.entry(key.to_string()).or_insert_with(|| Item {
            expires,
            ..Item::default()
        });
        // The count is `suppressed` (events) or the members seen (`subjects`).
        let by_members = !members.is_empty();
        let count = |i: &Item| {
            if by_members {
                i.subjects.len() as u64
            } else {
                i.suppressed
            }
        };
        let answer = if count(item) >= limit {
            Tally::Past
        } else {
            if by_members {
                for m in members {
                    let m = member_text(m);
                    if !item.subjects.iter().any(|s| s == m) {
                        item.subjects.push(m.to_string());
                    }
                }
            } else {
                item.suppressed += 1;
            }
            match count(item) {
                n if n >= limit => Tally::Crossed,
                n => Tally::Below(n),
            }
        };
        Box::pin(async move { Ok(answer) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn block<T>(f: BoxFuture<'_, T>) -> T {
        // The memory store's futures are ready at once.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = f;
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("memory store future pending"),
        }
    }

    #[test]
    fn a_key_is_claimed_once_until_it_expires_or_is_released() {
        let m = Memory::new();
        let k = event_key("guardduty", "e1");
        assert_eq!(block(m.claim(&k, 100, 200)), Ok(Claim::First));
        assert_eq!(block(m.claim(&k, 150, 250)), Ok(Claim::Held));
        // Another function's key for the same event is its own.
        assert_eq!(
            block(m.claim(&event_key("cloudtrail", "e1"), 150, 250)),
            Ok(Claim::First)
        );
        // Expired: claimable again.
        assert_eq!(block(m.claim(&k, 200, 300)), Ok(Claim::First));
        assert_eq!(block(m.claim(&k, 201, 300)), Ok(Claim::Held));
        // Released: claimable again.
        block(m.release(&k)).unwrap();
        assert_eq!(block(m.claim(&k, 202, 300)), Ok(Claim::First));
    }

    fn sight(band: u8, subject: &str, now: i64) -> Sight {
        Sight {
            band,
            subject: subject.to_string(),
            now,
            quiet: 100,
            expires: now + 1000,
        }
    }

    #[test]
    fn a_finding_alerts_on_first_sight_a_higher_band_a_new_subject_or_after_the_quiet_period() {
        let m = Memory::new();
        let k = finding_key("guardduty", "f1");
        let alert = |n, since| {
            Ok(Sighting::Alert {
                suppressed: n,
                since,
            })
        };
        assert_eq!(
            block(m.sight(&k, &sight(2, "key/alice", 10))),
            alert(0, None)
        );
        for t in 11..20 {
            assert_eq!(
                block(m.sight(&k, &sight(2, "key/alice", t))),
                Ok(Sighting::Quiet)
            );
        }
        // A lower band is quiet too.
        assert_eq!(
            block(m.sight(&k, &sight(1, "key/alice", 20))),
            Ok(Sighting::Quiet)
        );
        // The band rises: alert, with the 10 quiet updates counted since the first alert.
        assert_eq!(
            block(m.sight(&k, &sight(3, "key/alice", 21))),
            alert(10, Some(10))
        );
        assert_eq!(
            block(m.sight(&k, &sight(3, "key/alice", 22))),
            Ok(Sighting::Quiet)
        );
        // A new actor or resource: alert.
        assert_eq!(
            block(m.sight(&k, &sight(3, "key/bob", 23))),
            alert(1, Some(21))
        );
        assert_eq!(
            block(m.sight(&k, &sight(3, "key/alice", 24))),
            Ok(Sighting::Quiet)
        );
        // The quiet period (100 s) after the last alert (23) is over at 123.
        assert_eq!(
            block(m.sight(&k, &sight(3, "key/alice", 122))),
            Ok(Sighting::Quiet)
        );
        assert_eq!(
            block(m.sight(&k, &sight(3, "key/alice", 123))),
            alert(2, Some(23))
        );
        // Released (the remediation failed): the next update alerts.
        block(m.release(&k)).unwrap();
        assert_eq!(
            block(m.sight(&k, &sight(3, "key/alice", 124))),
            alert(0, None)
        );
    }

    #[test]
    fn a_budget_gives_its_limit_then_nothing() {
        let m = Memory::new();
        let k = budget_key("guardduty", "444455556666", 493_000);
        for n in 1..=3 {
            assert_eq!(block(m.take(&k, 3, 10)), Ok(Some(n)));
        }
        assert_eq!(block(m.take(&k, 3, 10)), Ok(None));
        assert_eq!(block(m.take(&k, 3, 10)), Ok(None));
        // The next hour is another window.
        let next = budget_key("guardduty", "444455556666", 493_001);
        assert_eq!(block(m.take(&next, 3, 10)), Ok(Some(1)));
    }

    #[test]
    fn a_threshold_matches_once_on_the_event_that_reaches_it() {
        let m = Memory::new();
        let k = threshold_key(
            "cloudtrail",
            "volume-secrets",
            2_900_000,
            "arn:aws:iam::123456789012:user/a",
        );
        // Distinct members: a repeat does not count.
        let one = |s: &str| vec![s.to_string()];
        assert_eq!(block(m.tally(&k, &one("s1"), 3, 10)), Ok(Tally::Below(1)));
        assert_eq!(block(m.tally(&k, &one("s1"), 3, 10)), Ok(Tally::Below(1)));
        assert_eq!(block(m.tally(&k, &one("s2"), 3, 10)), Ok(Tally::Below(2)));
        assert_eq!(block(m.tally(&k, &one("s2"), 3, 10)), Ok(Tally::Below(2)));
        assert_eq!(block(m.tally(&k, &one("s3"), 3, 10)), Ok(Tally::Crossed));
        // After it, in the same window: never again, whether the member is new or not.
        assert_eq!(block(m.tally(&k, &one("s4"), 3, 10)), Ok(Tally::Past));
        assert_eq!(block(m.tally(&k, &one("s1"), 3, 10)), Ok(Tally::Past));
        // An event naming several members adds each; passing the limit is crossing it.
        let l = threshold_key("cloudtrail", "volume-list", 2_900_000, "p");
        let two = vec!["a".to_string(), "b".to_string()];
        let three = vec!["b".to_string(), "c".to_string(), "d".to_string()];
        assert_eq!(block(m.tally(&l, &two, 3, 10)), Ok(Tally::Below(2)));
        assert_eq!(block(m.tally(&l, &three, 3, 10)), Ok(Tally::Crossed));
        assert_eq!(block(m.tally(&l, &two, 3, 10)), Ok(Tally::Past));
        // Events (no member): every one counts.
        let e = threshold_key("cloudtrail", "volume-calls", 2_900_000, "123456789012");
        assert_eq!(block(m.tally(&e, &[], 2, 10)), Ok(Tally::Below(1)));
        assert_eq!(block(m.tally(&e, &[], 2, 10)), Ok(Tally::Crossed));
        assert_eq!(block(m.tally(&e, &[], 2, 10)), Ok(Tally::Past));
        // The next window counts afresh.
        let next = threshold_key("cloudtrail", "volume-calls", 2_900_001, "123456789012");
        assert_eq!(block(m.tally(&next, &[], 2, 10)), Ok(Tally::Below(1)));
    }

    #[test]
    fn a_long_member_is_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_MEMBER_BYTES);
        let cut = member_text(&long);
        assert!(cut.len() <= MAX_MEMBER_BYTES && cut.len() >= MAX_MEMBER_BYTES - 1);
        assert!(long.starts_with(cut));
        assert_eq!(member_text("secret-1"), "secret-1");
    }

    #[test]
    fn keys_start_with_their_function_and_match_its_leading_keys() {
        let k = event_key("guardduty", "6a5f0000-example");
        assert_eq!(k, "guardduty#event#6a5f0000-example");
        let (pattern,) = (leading_keys("guardduty").remove(0),);
        assert!(k.starts_with(pattern.trim_end_matches('*')));
        assert!(!event_key("cloudtrail", "x").starts_with(pattern.trim_end_matches('*')));
    }
}
