//! Severity: a score on GuardDuty's 0–10 scale and the band it falls in.
//!
//! Bands: Low < 4.0 ≤ Medium < 7.0 ≤ High < 9.0 ≤ Critical. A score of 0 is Informational
//! (sample findings, "resolved" notices).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Band {
    pub fn of(score: f64) -> Band {
        if score >= 9.0 {
            Band::Critical
        } else if score >= 7.0 {
            Band::High
        } else if score >= 4.0 {
            Band::Medium
        } else if score > 0.0 {
            Band::Low
        } else {
            Band::Info
        }
    }

    /// The score a rule gets when it names only a band: the band's floor.
    pub fn floor(self) -> f64 {
        match self {
            Band::Info => 0.0,
            Band::Low => 1.0,
            Band::Medium => 4.0,
            Band::High => 7.0,
            Band::Critical => 9.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Band::Info => "INFO",
            Band::Low => "LOW",
            Band::Medium => "MEDIUM",
            Band::High => "HIGH",
            Band::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Band {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" | "informational" => Ok(Band::Info),
            "low" => Ok(Band::Low),
            "medium" => Ok(Band::Medium),
            "high" => Ok(Band::High),
            "critical" => Ok(Band::Critical),
            other => Err(format!(
                "unknown severity `{other}` (expected info, low, medium, high or critical)"
            )),
        }
    }
}

/// A severity score, clamped to 0–10, with its band.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Severity {
    pub band: Band,
    pub score: f64,
}

impl Severity {
    pub fn from_score(score: f64) -> Severity {
        let score = if score.is_finite() {
            score.clamp(0.0, 10.0)
        } else {
            0.0
        };
        Severity {
            band: Band::of(score),
            score,
        }
    }

    pub fn from_band(band: Band) -> Severity {
        Severity {
            band,
            score: band.floor(),
        }
    }

    /// Raises the severity to at least `band`.
    pub fn at_least(self, band: Band) -> Severity {
        if self.band >= band {
            self
        } else {
            Severity::from_band(band)
        }
    }

    pub fn max(self, other: Severity) -> Severity {
        if other.score > self.score {
            other
        } else {
            self
        }
    }
}

impl Default for Severity {
    fn default() -> Self {
        Severity::from_band(Band::Info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_documented_edges() {
        let cases = [
            (0.0, Band::Info),
            (0.1, Band::Low),
            (3.99, Band::Low),
            (4.0, Band::Medium),
            (6.99, Band::Medium),
            (7.0, Band::High),
            (8.9, Band::High),
            (9.0, Band::Critical),
            (10.0, Band::Critical),
        ];
        for (score, band) in cases {
            assert_eq!(Severity::from_score(score).band, band, "score {score}");
        }
    }

    #[test]
    fn scores_are_clamped_and_nan_is_info() {
        assert_eq!(Severity::from_score(42.0).score, 10.0);
        assert_eq!(Severity::from_score(-1.0).band, Band::Info);
        assert_eq!(Severity::from_score(f64::NAN).band, Band::Info);
    }

    #[test]
    fn at_least_only_raises() {
        assert_eq!(
            Severity::from_score(2.0).at_least(Band::High).band,
            Band::High
        );
        assert_eq!(
            Severity::from_score(9.5).at_least(Band::High).score,
            9.5,
            "never lowers"
        );
    }
}
