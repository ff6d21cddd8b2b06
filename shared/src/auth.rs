//! Who may do what: roles, the capabilities each role has, and the signed-in
//! principal. The server enforces these on every request; the UI only uses
//! them to hide what a role cannot do.

use serde::{Deserialize, Serialize};

/// A user's role. Ordered from least to most powerful, but capabilities are
/// checked explicitly: an admin manages people and screens, an officer the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read-only, for leadership briefing screens.
    Briefing,
    /// The duty watch: reads everything, acknowledges alerts, adds watch notes.
    Watch,
    /// Resilience officers: faults, notices, maintenance, assets.
    Officer,
    /// Users, roles and kiosk screens; also everything an officer does.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Briefing, Role::Watch, Role::Officer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Briefing => "briefing",
            Self::Watch => "watch",
            Self::Officer => "officer",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// Whether this role has `cap`.
    pub fn can(self, cap: Capability) -> bool {
        use Capability::*;
        match cap {
            Read => true,
            Acknowledge => self >= Role::Watch,
            WriteData | ReadAudit => self >= Role::Officer,
            ManageAccess | RunExercises => self == Role::Admin,
            // Every person manages their own password and API tokens; kiosks
            // and tokens never do (checked on the principal's kind).
            Account => true,
            // Everyone may hear of alerts (kiosks never: they only read).
            Subscribe => true,
        }
    }

    /// Whether sessions of this role end after [`ABSOLUTE_SESSION_HOURS`]
    /// whatever the activity (officers and admins can write).
    pub fn has_absolute_timeout(self) -> bool {
        self >= Role::Officer
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// See the picture: faults, cables, maintenance, notices.
    Read,
    /// Acknowledge alerts and add watch notes.
    Acknowledge,
    /// Log and edit faults, import notices, record maintenance and assets.
    WriteData,
    /// Read the audit trail.
    ReadAudit,
    /// Change one's own password; create and revoke one's own API tokens.
    Account,
    /// Users, roles, kiosk screens.
    ManageAccess,
    /// Schedule exercises (演習).
    RunExercises,
    /// Subscribe oneself to alerts by e-mail or webhook (people and their
    /// API tokens; never a kiosk).
    Subscribe,
}

/// Idle timeout of a session, in minutes.
pub const IDLE_SESSION_MINUTES: i64 = 30;
/// Absolute lifetime of an officer's or admin's session, in hours.
pub const ABSOLUTE_SESSION_HOURS: i64 = 12;
/// An API token or kiosk link expires after this many days unless another expiry is chosen.
pub const SECRET_DEFAULT_DAYS: i64 = 90;
/// The longest expiry of an API token or kiosk link: one year.
pub const SECRET_MAX_DAYS: i64 = 365;

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A signed-in browser session.
    Session,
    /// A personal API token (`Authorization: Bearer`).
    Token,
    /// A kiosk screen token: always the briefing role.
    Kiosk,
}

/// The person or screen behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Principal {
    /// User id, or kiosk id for a kiosk.
    pub id: i64,
    /// Username, or the kiosk's name.
    pub name: String,
    pub role: Role,
    pub kind: PrincipalKind,
}

impl Principal {
    /// Whether this principal may do `cap`. Kiosks are read-only whatever happens.
    pub fn can(&self, cap: Capability) -> bool {
        match self.kind {
            PrincipalKind::Kiosk => cap == Capability::Read,
            PrincipalKind::Token if cap == Capability::Account => false,
            _ => self.role.can(cap),
        }
    }

    /// The actor written into the event log: `user:NAME`, `kiosk:NAME`.
    pub fn actor(&self) -> String {
        match self.kind {
            PrincipalKind::Kiosk => format!("kiosk:{}", self.name),
            PrincipalKind::Session | PrincipalKind::Token => format!("user:{}", self.name),
        }
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// Longest password accepted (argon2 is given at most this many bytes).
pub const MAX_PASSWORD: usize = 256;
/// Longest username.
pub const MAX_USERNAME: usize = 64;

/// Checks a username: 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_username(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    if name.is_empty() || name.len() > MAX_USERNAME {
        return Err(format!("a username has 1 to {MAX_USERNAME} characters"));
    }
    if !name.chars().all(ok_char) || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(
            "a username uses a-z, 0-9, '.', '_' and '-', starting with a letter or digit".into(),
        );
    }
    Ok(())
}

/// Checks a new password's length (no composition rules, per NIST SP 800-63B).
pub fn check_new_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(format!("a password has at least {MIN_PASSWORD} characters"));
    }
    if password.len() > MAX_PASSWORD {
        return Err(format!("a password has at most {MAX_PASSWORD} bytes"));
    }
    Ok(())
}

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
}

/// An API token or kiosk as listed: never the secret itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: i64,
    /// The token's label, or the kiosk's name.
    pub label: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A new token or kiosk: the secret, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSecret {
    pub id: i64,
    pub secret: String,
    pub expires_at: Option<String>,
}

/// Filters of the audit view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditFilter {
    /// Actor contains this text (`user:duty`, `kiosk:`).
    pub actor: Option<String>,
    /// Entity type (`fault`, `user`, `notice`, ...).
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// RFC 3339 bounds, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The site's own pages a sign-in or a kiosk link may go on to: the first
/// path segment of each route (`""` is the fault list).
pub const PAGE_ROOTS: &[&str] = &[
    "",
    "faults",
    "import",
    "maintenance",
    "map",
    "assets",
    "watch",
    "resilience",
    "repairs",
    "briefing",
    "audit",
    "account",
    "admin",
];

/// Where to go after signing in: `next` when it is a path of one of the
/// site's own pages, else `/`. Refused: anything with a scheme or host
/// (`//evil`, `https:`), backslashes, control characters or whitespace
/// (browsers strip tab, CR and LF, so `/\t/evil.example` would leave the
/// site), percent-encoded slashes or dots that could smuggle those, and
/// paths outside [`PAGE_ROOTS`].
pub fn local_target(next: Option<&str>) -> String {
    next.filter(|n| is_local_page(n))
        .map(str::to_string)
        .unwrap_or_else(|| "/".to_string())
}

fn is_local_page(n: &str) -> bool {
    if n.len() > 2048
        || !n.starts_with('/')
        || n.starts_with("//")
        || n.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return false;
    }
    let path = n.split(['?', '#']).next().unwrap_or(n);
    let lower = path.to_ascii_lowercase();
    // Encoded separators, controls or dots in the path could be decoded into an off-site address.
    if ["%2f", "%5c", "%09", "%0a", "%0d", "%00", "%2e"]
        .iter()
        .any(|bad| lower.contains(bad))
    {
        return false;
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    if segments.iter().any(|s| *s == "." || *s == "..")
        || segments.iter().skip(1).any(|s| s.is_empty())
    {
        return false;
    }
    PAGE_ROOTS.contains(&segments[0])
}

/// Entity types whose events only principals that may read the audit trail
/// see (on the live stream and the watch board's feed). A subscription's
/// events name a person's address or webhook.
pub const ACCESS_ENTITIES: [&str; 4] = ["user", "token", "kiosk", "subscription"];

/// Event kinds after which a reader may no longer be signed in (a
/// disabled user, a changed role or password, a sign-out, a revoked token
/// or kiosk link): open event streams check their reader again.
pub const REVOKING_KINDS: &[&str] = &[
    "user.disabled",
    "user.role_changed",
    "user.password_changed",
    "token.revoked",
    "kiosk.revoked",
    "auth.signed_out",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, kind: PrincipalKind) -> Principal {
        Principal {
            id: 1,
            name: "n".into(),
            role,
            kind,
        }
    }

    #[test]
    fn roles_have_the_capabilities_of_the_design() {
        use Capability::*;
        let table = [
            (Role::Briefing, [true, false, false, false, false, false]),
            (Role::Watch, [true, true, false, false, false, false]),
            (Role::Officer, [true, true, true, true, false, false]),
            (Role::Admin, [true, true, true, true, true, true]),
        ];
        for (role, want) in table {
            let got = [
                Read,
                Acknowledge,
                WriteData,
                ReadAudit,
                ManageAccess,
                RunExercises,
            ]
            .map(|c| role.can(c));
            assert_eq!(got, want, "{role}");
        }
    }

    #[test]
    fn a_kiosk_only_reads_whatever_its_role() {
        let k = who(Role::Admin, PrincipalKind::Kiosk);
        assert!(k.can(Capability::Read));
        assert!(!k.can(Capability::WriteData));
        assert!(!k.can(Capability::Account));
        assert_eq!(k.actor(), "kiosk:n");
    }

    #[test]
    fn a_token_cannot_mint_tokens() {
        let t = who(Role::Officer, PrincipalKind::Token);
        assert!(t.can(Capability::WriteData));
        assert!(!t.can(Capability::Account));
        assert!(who(Role::Officer, PrincipalKind::Session).can(Capability::Account));
    }

    #[test]
    fn only_the_sites_own_pages_are_targets_after_sign_in() {
        for ok in [
            "/",
            "/map",
            "/faults/12",
            "/assets?kind=microwave&status=ready",
            "/watch#alerts",
            "/admin/kiosks",
        ] {
            assert_eq!(local_target(Some(ok)), ok, "{ok}");
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\u{7f}/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\\evil.example",
            "/%2F/evil.example",
            "/%5cevil.example",
            "/%09/evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/ /evil.example",
            "/map/../../evil",
            "/api/v1/faults",
            "/signin?next=//evil",
            "/nowhere",
            "",
        ] {
            assert_eq!(local_target(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_target(None), "/");
    }

    #[test]
    fn usernames_and_passwords() {
        assert!(check_username("duty.officer-1").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("Admin").is_err());
        assert!(check_username("-x").is_err());
        assert!(check_username("a b").is_err());
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("correct horse battery").is_ok());
        assert!(check_new_password(&"x".repeat(300)).is_err());
    }
}
