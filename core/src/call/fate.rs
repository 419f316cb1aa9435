//! The fate table: one pure function, [`decide`], says what follows every attempt of a call.
//!
//! The [`Call`](super::Call) machine classifies what came back ([`Outcome::of`]), counts what
//! is left ([`Budget`]), and does what [`decide`] answers; nothing else in the SDK decides
//! whether to send again, check, or stop. The tables below are rendered from [`decide`] itself
//! (a unit test compares them with this text), with every attempt and all the time left, and
//! with none (after the `;`).
//!
#![doc = include_str!("fate.md")]

use std::fmt;
use std::time::Duration;

use crate::operation::Repeat;
use crate::{Error, ErrorKind};

/// What the attempt sent, carrying what may follow it.
#[derive(Debug, Clone)]
pub enum Sent<C> {
    /// The operation itself, with what may follow an attempt of unknown fate.
    Operation(Repeat<C>),
    /// The check that finds out whether the operation took effect.
    Check(C),
}

/// What came back from an attempt, in the terms that decide what follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A verified answer; for a check, one showing the operation took effect as asked.
    Verified,
    /// The check found nothing (404 `RESOURCE_NOT_EXISTS` / `ORDER_NOT_EXIST`): the operation
    /// did not take effect.
    NotFound,
    /// The check found it done, but not as asked ([`ErrorKind::Conflict`]).
    Conflict,
    /// A 4xx other than 429, verified or not, or a failure no retry mends: it did not happen.
    Refused,
    /// 429: it did not happen; WeChat Pay's `Retry-After`, if it sent one.
    RateLimited {
        /// The wait WeChat Pay asked for: never shortened.
        retry_after: Option<Duration>,
    },
    /// The request never left (connect, DNS, a TLS handshake cut short): it did not happen.
    NotSent,
    /// A timeout or lost connection once the request may have been written, any 5xx, or 202.
    Lost {
        /// A `Retry-After` on the answer: the next attempt waits at least this long.
        retry_after: Option<Duration>,
    },
    /// A 2xx whose signature or body failed (or whose body was over the cap).
    Unverified,
    /// A 2xx signed with a serial no held key has, while the platform certificates are being
    /// downloaded (certificate mode): it cannot be verified until they are.
    UnknownSerial,
}

impl Outcome {
    /// The outcome an attempt's error stands for.
    ///
    /// ```
    /// use wechatpay_core::call::fate::Outcome;
    /// use wechatpay_core::{Error, Fate, http::StatusCode};
    /// assert_eq!(Outcome::of(&Error::api(StatusCode::BAD_GATEWAY, b"<html>", None)),
    ///     Outcome::Lost { retry_after: None });
    /// assert_eq!(Outcome::of(&Error::api(StatusCode::BAD_REQUEST, b"{}", None)), Outcome::Refused);
    /// let refused = Error::transport("refused", Fate::NotSent, std::io::Error::other("refused"));
    /// assert_eq!(Outcome::of(&refused), Outcome::NotSent);
    /// ```
    pub fn of(error: &Error) -> Self {
        // Only a check finds a conflict; one from a 2xx that failed to parse is unverified.
        if error.kind() == ErrorKind::Conflict && !error.is_fate_unknown() {
            return Self::Conflict;
        }
        if error.kind() == ErrorKind::Api
            && error.status() == Some(http::StatusCode::TOO_MANY_REQUESTS)
        {
            return Self::RateLimited {
                retry_after: error.retry_after(),
            };
        }
        match (error.is_fate_unknown(), error.is_retryable()) {
            (true, true) => Self::Lost {
                retry_after: error.retry_after(),
            },
            (true, false) => Self::Unverified,
            (false, true) => Self::NotSent,
            (false, false) => Self::Refused,
        }
    }

    /// Whether the operation may have taken effect, as far as this outcome tells.
    pub fn is_fate_unknown(self) -> bool {
        matches!(
            self,
            Self::Lost { .. } | Self::Unverified | Self::UnknownSerial
        )
    }
}

/// What is left of the call when an attempt has failed.
///
/// The operation is sent at most [`RetryPolicy::max_attempts`](crate::retry::RetryPolicy)
/// times in all and checked at most `max_checks` times: a check never uses up a send, so a
/// check that persists cannot leave the operation without its resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// How many more times the operation may be sent.
    pub sends_left: u32,
    /// How many more checks may be sent.
    pub checks_left: u32,
    /// The time left before the call's deadline.
    pub time_left: Duration,
    /// The backoff before the next send.
    pub send_backoff: Duration,
    /// The backoff before the next check.
    pub check_backoff: Duration,
    /// Whether an earlier attempt of the operation may have taken effect and no check has
    /// said it did not: then a stop leaves the fate unknown, whatever this attempt got.
    pub earlier_unknown: bool,
}

/// What the call does next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action<C> {
    /// The attempt's verified answer is the call's result.
    Finish,
    /// Send the operation (signed afresh) after `wait`.
    Send {
        /// Zero, the backoff, or WeChat Pay's `Retry-After`.
        wait: Duration,
    },
    /// Send the check after `wait`.
    Check {
        /// The check to send.
        check: C,
        /// Zero, the backoff, or WeChat Pay's `Retry-After`.
        wait: Duration,
    },
    /// End the call with an error.
    Stop {
        /// Why.
        why: Stop,
        /// Whether the operation may have taken effect ([`Error::is_fate_unknown`]).
        fate_unknown: bool,
    },
}

/// Why a call stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// The answer is final: a refusal, a conflict, a check refused, or a forged or unreadable
    /// answer to a request that is resent only on transient failures.
    Final,
    /// It may have happened, and nothing can tell: it is never sent again blind.
    Unrepeatable,
    /// The check found it never happened, and no send is left.
    NotHappened,
    /// No send (or no check) is left.
    Exhausted,
    /// The wait would pass the call's deadline.
    Deadline,
    /// WeChat Pay's `Retry-After` would pass the call's deadline: it is never shortened.
    RetryAfter,
}

/// The fate table: what follows an attempt that `sent` this and got `outcome`, with `budget`
/// left. Pure: the same input always gives the same action.
///
/// ```
/// use std::time::Duration;
/// use wechatpay_core::Repeat;
/// use wechatpay_core::call::fate::{Action, Budget, Outcome, Sent, Stop, decide};
///
/// let budget = Budget { sends_left: 2, checks_left: 5, time_left: Duration::from_secs(20),
///     send_backoff: Duration::from_millis(100), check_backoff: Duration::from_millis(100),
///     earlier_unknown: false };
/// // A POST lost in transit is checked, never sent again blind.
/// assert_eq!(decide(Sent::Operation(Repeat::Check("query")), Outcome::Lost { retry_after: None }, &budget),
///     Action::Check { check: "query", wait: Duration::from_millis(100) });
/// assert_eq!(decide(Sent::Operation(Repeat::<&str>::Never), Outcome::Lost { retry_after: None }, &budget),
///     Action::Stop { why: Stop::Unrepeatable, fate_unknown: true });
/// // The check found nothing: send it again at once.
/// assert_eq!(decide(Sent::Check("query"), Outcome::NotFound, &budget),
///     Action::Send { wait: Duration::ZERO });
/// ```
pub fn decide<C>(sent: Sent<C>, outcome: Outcome, budget: &Budget) -> Action<C> {
    use Outcome as O;
    let unknown = outcome.is_fate_unknown() || budget.earlier_unknown;
    match sent {
        Sent::Operation(repeat) => match (outcome, repeat) {
            (O::Verified, _) => Action::Finish,
            (O::Refused | O::NotFound | O::Conflict, _) => stop(Stop::Final, unknown),
            (O::RateLimited { retry_after }, _) => {
                send(budget, Wait::Exactly(retry_after), unknown)
            }
            (O::NotSent, _) => send(budget, Wait::Backoff, unknown),
            (O::Lost { retry_after }, Repeat::Resend) => {
                send(budget, Wait::AtLeast(retry_after), unknown)
            }
            (O::UnknownSerial, Repeat::Resend) => send(budget, Wait::Now, unknown),
            // A forged or unreadable answer to a safe request is an attack or a bug: surface it.
            (O::Unverified, Repeat::Resend) => stop(Stop::Final, unknown),
            (O::Lost { retry_after }, Repeat::Check(check)) => {
                check_after(check, budget, Wait::AtLeast(retry_after))
            }
            (O::Unverified | O::UnknownSerial, Repeat::Check(check)) => {
                check_after(check, budget, Wait::Now)
            }
            (O::Lost { .. } | O::Unverified | O::UnknownSerial, Repeat::Never) => {
                stop(Stop::Unrepeatable, unknown)
            }
        },
        Sent::Check(check) => match outcome {
            O::Verified => Action::Finish,
            O::Conflict => stop(Stop::Final, false),
            O::NotFound if budget.sends_left == 0 => stop(Stop::NotHappened, false),
            O::NotFound => send(budget, Wait::Now, false),
            O::Refused => stop(Stop::Final, true),
            O::RateLimited { retry_after } => {
                check_after(check, budget, Wait::Exactly(retry_after))
            }
            O::UnknownSerial => check_after(check, budget, Wait::Now),
            O::Lost { retry_after } => check_after(check, budget, Wait::AtLeast(retry_after)),
            O::NotSent | O::Unverified => check_after(check, budget, Wait::Backoff),
        },
    }
}

/// How long the next attempt waits.
#[derive(Clone, Copy)]
enum Wait {
    /// Not at all.
    Now,
    /// The backoff.
    Backoff,
    /// WeChat Pay's `Retry-After` exactly when it sent one (never shorter), else the backoff.
    Exactly(Option<Duration>),
    /// The backoff, or the `Retry-After` if that is longer.
    AtLeast(Option<Duration>),
}

fn stop<C>(why: Stop, fate_unknown: bool) -> Action<C> {
    Action::Stop { why, fate_unknown }
}

/// Sends again after `wait`, if a send and the time are left.
fn send<C>(budget: &Budget, wait: Wait, fate_unknown: bool) -> Action<C> {
    if budget.sends_left == 0 {
        return stop(Stop::Exhausted, fate_unknown);
    }
    match within_deadline(budget, wait, budget.send_backoff) {
        Ok(wait) => Action::Send { wait },
        Err(why) => stop(why, fate_unknown),
    }
}

/// Checks after `wait`, if a check and the time are left. Until a check answers, the
/// operation's fate stays unknown.
fn check_after<C>(check: C, budget: &Budget, wait: Wait) -> Action<C> {
    if budget.checks_left == 0 {
        return stop(Stop::Exhausted, true);
    }
    match within_deadline(budget, wait, budget.check_backoff) {
        Ok(wait) => Action::Check { check, wait },
        Err(why) => stop(why, true),
    }
}

/// The wait, if the next attempt can still start before the deadline.
fn within_deadline(budget: &Budget, wait: Wait, backoff: Duration) -> Result<Duration, Stop> {
    let (chosen, asked) = match wait {
        Wait::Now => (Duration::ZERO, false),
        Wait::Backoff | Wait::Exactly(None) | Wait::AtLeast(None) => (backoff, false),
        Wait::Exactly(Some(r)) => (r, true),
        Wait::AtLeast(Some(r)) => (r.max(backoff), r >= backoff),
    };
    if chosen < budget.time_left {
        Ok(chosen)
    } else if asked {
        Err(Stop::RetryAfter)
    } else {
        Err(Stop::Deadline)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Verified => "verified answer",
            Self::NotFound => "404 `RESOURCE_NOT_EXISTS` / `ORDER_NOT_EXIST`",
            Self::Conflict => "verified, but not as asked",
            Self::Refused => "4xx other than 429, verified or not",
            Self::RateLimited { .. } => "429 with `Retry-After`",
            Self::NotSent => "connect, DNS or TLS failure before the request was written",
            Self::Lost { .. } => {
                "timeout or lost connection after the request may have been written; any 5xx; 202"
            }
            Self::Unverified => "2xx whose signature or body fails",
            Self::UnknownSerial => "2xx signed with an unknown serial (certificate mode)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Duration = Duration::from_secs(1);
    const CHECK_BACKOFF: Duration = Duration::from_secs(2);
    const RETRY_AFTER: Duration = Duration::from_secs(3);

    fn ample() -> Budget {
        Budget {
            sends_left: 2,
            checks_left: 2,
            time_left: Duration::from_secs(30),
            send_backoff: BACKOFF,
            check_backoff: CHECK_BACKOFF,
            earlier_unknown: false,
        }
    }

    fn spent() -> Budget {
        Budget {
            sends_left: 0,
            checks_left: 0,
            ..ample()
        }
    }

    const OPERATION_ROWS: [Outcome; 7] = [
        Outcome::Verified,
        Outcome::Refused,
        Outcome::RateLimited {
            retry_after: Some(RETRY_AFTER),
        },
        Outcome::NotSent,
        Outcome::Lost { retry_after: None },
        Outcome::Unverified,
        Outcome::UnknownSerial,
    ];

    const CHECK_ROWS: [Outcome; 9] = [
        Outcome::Verified,
        Outcome::Conflict,
        Outcome::NotFound,
        Outcome::Refused,
        Outcome::RateLimited {
            retry_after: Some(RETRY_AFTER),
        },
        Outcome::NotSent,
        Outcome::Lost { retry_after: None },
        Outcome::Unverified,
        Outcome::UnknownSerial,
    ];

    fn happened(outcome: Outcome, check: bool) -> &'static str {
        match outcome {
            Outcome::Verified => "yes",
            Outcome::Conflict => "otherwise",
            Outcome::NotFound => "no",
            _ if check || outcome.is_fate_unknown() => "unknown",
            _ => "no",
        }
    }

    fn wait_words(wait: Duration) -> &'static str {
        match wait {
            Duration::ZERO => "at once",
            BACKOFF | CHECK_BACKOFF => "after backoff",
            RETRY_AFTER => "after `Retry-After`",
            _ => "after an unexpected wait",
        }
    }

    fn words(action: &Action<()>) -> String {
        match action {
            Action::Finish => "done: the answer".to_owned(),
            Action::Send { wait } => format!("send again {}", wait_words(*wait)),
            Action::Check { wait, .. } => format!("check {}", wait_words(*wait)),
            Action::Stop { why, fate_unknown } => {
                let fate = if *fate_unknown {
                    "fate unknown"
                } else {
                    "did not happen"
                };
                match why {
                    Stop::Final => format!("stop ({fate})"),
                    Stop::Unrepeatable => "stop, never sent blind (fate unknown)".to_owned(),
                    Stop::NotHappened => "stop (did not happen)".to_owned(),
                    Stop::Exhausted => format!("stop ({fate})"),
                    Stop::Deadline | Stop::RetryAfter => format!("stop at the deadline ({fate})"),
                }
            }
        }
    }

    /// "action; none left: action" when running out changes it.
    fn cell(sent: Sent<()>, outcome: Outcome) -> String {
        if outcome == Outcome::Conflict {
            assert_eq!(
                decide(sent, outcome, &ample()),
                Action::Stop {
                    why: Stop::Final,
                    fate_unknown: false
                }
            );
            return "stop with the conflict, never a success".to_owned();
        }
        let ample = words(&decide(sent.clone(), outcome, &ample()));
        let spent = words(&decide(sent, outcome, &spent()));
        if ample == spent {
            ample
        } else {
            format!("{ample}; none left: {spent}")
        }
    }

    /// The tables of `fate.md`, rendered from `decide`.
    fn render() -> String {
        let mut out = String::from(
            "| an attempt of the operation got | did it happen? | `Repeat::Resend` | `Repeat::Check` | `Repeat::Never` |\n|---|---|---|---|---|\n",
        );
        for outcome in OPERATION_ROWS {
            out += &format!(
                "| {outcome} | {} | {} | {} | {} |\n",
                happened(outcome, false),
                cell(Sent::Operation(Repeat::Resend), outcome),
                cell(Sent::Operation(Repeat::Check(())), outcome),
                cell(Sent::Operation(Repeat::Never), outcome),
            );
        }
        out += "\n| a check got | did the operation happen? | next step |\n|---|---|---|\n";
        for outcome in CHECK_ROWS {
            out += &format!(
                "| {outcome} | {} | {} |\n",
                happened(outcome, true),
                cell(Sent::Check(()), outcome)
            );
        }
        out
    }

    #[test]
    fn the_documented_tables_are_the_function() {
        let doc = include_str!("fate.md");
        let start = doc.find("| an attempt").expect("the operation table");
        let end = doc.rfind("|\n").expect("the end of the check table") + 2;
        let rendered = render();
        assert_eq!(
            &doc[start..end],
            rendered,
            "fate.md differs from decide(); the tables as decide() has them:\n{rendered}"
        );
    }

    #[test]
    fn a_post_of_unknown_fate_is_never_sent_again_without_a_check() {
        for outcome in [
            Outcome::Lost { retry_after: None },
            Outcome::Unverified,
            Outcome::UnknownSerial,
        ] {
            for budget in [ample(), spent()] {
                let action = decide(Sent::Operation(Repeat::Check(())), outcome, &budget);
                assert!(!matches!(action, Action::Send { .. }), "{outcome}");
                let action = decide(Sent::Operation(Repeat::<()>::Never), outcome, &budget);
                assert_eq!(
                    action,
                    Action::Stop {
                        why: Stop::Unrepeatable,
                        fate_unknown: true
                    }
                );
            }
        }
    }

    #[test]
    fn only_a_check_that_found_nothing_sends_the_post_again() {
        for outcome in CHECK_ROWS {
            let action = decide(Sent::Check(()), outcome, &ample());
            assert_eq!(
                matches!(action, Action::Send { .. }),
                outcome == Outcome::NotFound,
                "{outcome}"
            );
        }
    }

    #[test]
    fn a_check_persists_through_transient_failures_until_the_budget_ends() {
        for outcome in [
            Outcome::NotSent,
            Outcome::Lost { retry_after: None },
            Outcome::Unverified,
            Outcome::RateLimited { retry_after: None },
        ] {
            assert_eq!(
                decide(Sent::Check(()), outcome, &ample()),
                Action::Check {
                    check: (),
                    wait: CHECK_BACKOFF
                },
                "{outcome}"
            );
            assert_eq!(
                decide(Sent::Check(()), outcome, &spent()),
                Action::Stop {
                    why: Stop::Exhausted,
                    fate_unknown: true
                },
                "{outcome}"
            );
        }
        // The deadline ends it too, with the fate still unknown.
        let late = Budget {
            time_left: Duration::from_millis(500),
            ..ample()
        };
        assert_eq!(
            decide(Sent::Check(()), Outcome::Lost { retry_after: None }, &late),
            Action::Stop {
                why: Stop::Deadline,
                fate_unknown: true
            }
        );
    }

    #[test]
    fn retry_after_is_never_shortened() {
        let late = Budget {
            time_left: Duration::from_secs(2),
            ..ample()
        };
        let limited = Outcome::RateLimited {
            retry_after: Some(RETRY_AFTER),
        };
        assert_eq!(
            decide(Sent::Operation(Repeat::Check(())), limited, &ample()),
            Action::Send { wait: RETRY_AFTER }
        );
        assert_eq!(
            decide(Sent::Operation(Repeat::Check(())), limited, &late),
            Action::Stop {
                why: Stop::RetryAfter,
                fate_unknown: false
            }
        );
        assert_eq!(
            decide(Sent::Check(()), limited, &late),
            Action::Stop {
                why: Stop::RetryAfter,
                fate_unknown: true
            }
        );
    }

    #[test]
    fn outcomes_of_errors() {
        use crate::Fate;
        use http::StatusCode;
        let io = || std::io::Error::other("x");
        let rows = [
            (
                Error::api(StatusCode::BAD_REQUEST, b"{}", None),
                Outcome::Refused,
            ),
            (
                Error::api(StatusCode::NOT_FOUND, b"{}", None),
                Outcome::Refused,
            ),
            (
                Error::api(StatusCode::TOO_MANY_REQUESTS, b"{}", None)
                    .with_retry_after(RETRY_AFTER),
                Outcome::RateLimited {
                    retry_after: Some(RETRY_AFTER),
                },
            ),
            (
                Error::api(StatusCode::INTERNAL_SERVER_ERROR, b"{}", None),
                Outcome::Lost { retry_after: None },
            ),
            (
                Error::api(StatusCode::ACCEPTED, b"{}", None),
                Outcome::Lost { retry_after: None },
            ),
            (Error::transport("x", Fate::NotSent, io()), Outcome::NotSent),
            (
                Error::transport("x", Fate::MaybeSent, io()),
                Outcome::Lost { retry_after: None },
            ),
            (
                Error::transport("x", Fate::Unusable, io()),
                Outcome::Refused,
            ),
            (
                Error::attempt_timeout("x", Fate::MaybeSent),
                Outcome::Lost { retry_after: None },
            ),
            (Error::attempt_timeout("x", Fate::NotSent), Outcome::NotSent),
            (Error::response_too_large(10), Outcome::Unverified),
            (
                Error::of_kind(ErrorKind::SignatureMismatch, "x").with_fate_unknown(),
                Outcome::Unverified,
            ),
            (Error::conflict("x"), Outcome::Conflict),
            (Error::invalid_input("amount", "x"), Outcome::Refused),
        ];
        for (error, outcome) in rows {
            assert_eq!(Outcome::of(&error), outcome, "{error}");
        }
    }
}
