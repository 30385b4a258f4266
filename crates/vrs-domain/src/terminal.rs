//! Where a person acts from. LG-WAN is whatever network the deployment names as trusted (the
//! municipalities' closed administrative network); everything else is the internet. My Number and
//! the inquiries that carry it are only ever handled from LG-WAN.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Terminal {
    Lgwan,
    Internet,
}

impl Terminal {
    /// The stable code used in the database and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Terminal::Lgwan => "lgwan",
            Terminal::Internet => "internet",
        }
    }

    /// `"lgwan"` is LG-WAN; any other code is the internet, so an unknown value never gains trust.
    pub fn from_code(s: &str) -> Self {
        if s == "lgwan" {
            Terminal::Lgwan
        } else {
            Terminal::Internet
        }
    }
}

impl fmt::Display for Terminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Terminal;

    #[test]
    fn only_the_lgwan_code_is_lgwan() {
        assert_eq!(Terminal::from_code("lgwan"), Terminal::Lgwan);
        for code in ["internet", "LGWAN", "lgwan ", "", "unknown"] {
            assert_eq!(Terminal::from_code(code), Terminal::Internet, "{code:?}");
        }
        for t in [Terminal::Lgwan, Terminal::Internet] {
            assert_eq!(Terminal::from_code(t.as_str()), t);
        }
    }
}
