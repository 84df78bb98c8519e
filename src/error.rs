//! The two kinds of failure, chosen by what happens next, and every Redis-visible error
//! text in one place so its wording can be checked against a real redis-server.
//!
//! - `CmdError`: the command failed; reply with an error and keep the connection.
//! - `ConnError`: the connection cannot continue; log once and close.

use crate::resp::ProtocolError;
use bytes::Bytes;
use std::fmt;

/// Written to a client refused by protected mode, then the connection closes. The text
/// is Redis 7.2's; 7.0.15 says "4) Setup a an authentication password", fixed in 7.2.
// ---- Browser clients (issue 12): the `error` text of JSON error frames and SSE/HTTP
// refusals. Redis words where Redis has the case (NOAUTH, WRONGPASS, NOPERM).
pub const WEB_NOAUTH: &str = "NOAUTH Authentication required.";
pub const WEB_WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const WEB_NOPERM_CHANNEL: &str = "NOPERM No permissions to access a channel";
pub const WEB_NOPERM_PUBLISH: &str = "NOPERM No permissions to publish to this channel";
pub const WEB_TOO_MANY_SUBSCRIPTIONS: &str = "ERR max-subscriptions-per-client reached";
pub const WEB_BAD_REQUEST: &str = "ERR bad request: expected a JSON object with a known \"op\"";
pub const WEB_ALREADY_AUTHENTICATED: &str = "ERR already authenticated";
pub const WEB_ORIGIN: &str = "ERR origin not allowed";
/// A browser PUBLISH over the NATS backplane's max_payload with `backplane-oversize refuse`
/// (RESP clients get the size in the text; a browser error is a fixed string).
pub const WEB_BACKPLANE_OVERSIZE: &str = "ERR message larger than the backplane's max_payload";
pub const WEB_TOO_MANY_CLIENTS: &str = "ERR max number of browser clients reached";
pub const WEB_MAXCLIENTS: &str = "ERR max number of clients reached";
pub const WEB_SHUTTING_DOWN: &str = "ERR shutting down";
pub const WEB_PROTECTED: &str =
    "DENIED protected mode: only loopback clients while the default user has no password";
pub const TOKEN_NOT_CONFIGURED: &str = "ERR tokens are not configured (jwt-secret, jwt-key-file)";
pub const TOKEN_EXPIRED: &str = "WRONGPASS token expired";
pub const TOKEN_BAD_SIGNATURE: &str = "WRONGPASS token signature invalid";
pub const TOKEN_INVALID: &str = "WRONGPASS token invalid";

pub const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// A command failed; the client gets an error reply and the connection stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// Name as sent, and its arguments (for the "with args beginning with" part).
    UnknownCommand(Bytes, Vec<Bytes>),
    /// Container as sent (upper-cased in the text) and the subcommand as sent.
    UnknownSubcommand(Bytes, Bytes),
    /// A known subcommand whose argument count the command itself rejects.
    SubcommandArity(Bytes, Bytes),
    /// Lower-case full name, `container|sub` for subcommands.
    WrongArity(&'static str),
    NoAuth,
    /// Full name of a command refused in RESP2 subscribe mode.
    SubscribeContext(&'static str),
    NotAllowedInMulti,
    MultiNested,
    ExecWithoutMulti,
    DiscardWithoutMulti,
    ExecAbort,
    /// EXEC itself was rejected; the reason is the rejection's text without `ERR `.
    ExecAbortBecause(Bytes),
    /// Full name of a command that may not run inside MULTI/EXEC (SSUBSCRIBE).
    DenyBlocking(&'static str),
    /// A subscribe would take the client past `max-subscriptions-per-client`.
    TooManySubscriptions,
    /// PUBLISH over NATS's max_payload with `backplane-oversize refuse` (the limit).
    BackplaneOversize(usize),
    AuthNotConfigured,
    WrongPass,
    HelloNoAuth,
    NoProto,
    ProtocolVersionNotInteger,
    HelloSyntax(Bytes),
    NotAnInteger,
    DbIndexOutOfRange,
    Syntax,
    NoSuchClient,
    ClientNameChars,
    /// `lib-name` / `lib-ver` with a forbidden character.
    ClientInfoChars(&'static str),
    UnrecognizedOption(Bytes),
    ConfigUnknownOption(&'static str, Bytes),
    ConfigInvalidArgument(Bytes, Bytes, String),
    ConfigImmutable(Bytes),
    /// CONFIG SET of a `tls-*` setting whose files do not load (the log says why).
    ConfigTls(Bytes),
    /// CONFIG REWRITE with no file to write to.
    ConfigNoFile,
    /// CONFIG REWRITE failed; the reason.
    ConfigRewrite(String),
    CommandUnknownName,
    UnknownClientType(Bytes),
    InvalidClientId,
    /// CLIENT LIST ID with an id that is not an integer.
    InvalidClientIdList,
    NoSuchUser(Bytes),
    MaxClients,
    /// ACL: the user may not run the command (user name, full command name).
    NoPermCommand(Bytes, &'static str),
    /// ACL: one of the channels (or PSUBSCRIBE patterns) is not allowed.
    NoPermChannel,
    /// ACL rules changed between MULTI queueing and EXEC; the reason.
    NoPermChangedInMulti(&'static str),
    /// ACL SETUSER: the rule as sent and why it was refused.
    AclRule(Bytes, &'static str),
    AclUsernameSpaces,
    AclDeleteDefault,
    AclUnknownCategory(Bytes),
    AclUserNotFound(Bytes),
    AclCommandNotFound(Bytes),
    AclGenpassBits,
    AclNoFile,
    /// ACL LOAD failed; the reasons (`<file>:<line>: <why>. ...`).
    AclLoad(String),
    AclSave,
    /// SLOWLOG GET with a count below -1 or not an integer.
    SlowlogCount,
    /// LATENCY GRAPH for an event with no samples (event as sent).
    LatencyNoSamples(Bytes),
    // ---- admin commands (issue 8) ----
    /// CLIENT PAUSE with a timeout that is not an integer.
    PauseTimeoutNotInteger,
    PauseTimeoutNegative,
    PauseMode,
    /// SHUTDOWN ABORT with no shutdown under way (respub's SHUTDOWN never waits).
    NoShutdownInProgress,
    /// MONITOR inside MULTI/EXEC.
    MonitorDenyBlocking,
    FunctionFlushOption,
    ScriptFlushOption,
    /// FUNCTION LIST with an argument it does not know (as sent).
    FunctionListUnknownArg(Bytes),
    FunctionListNoLibraryName,
    /// SCRIPT KILL / FUNCTION KILL: nothing runs here, ever.
    NotBusy,
    TrackingBcastSwitch,
    TrackingOptSwitch,
    TrackingOptInAndOut,
    TrackingOptWithBcast,
    TrackingPrefixWithoutBcast,
    TrackingNoRedirectTarget,
    TrackingRedirectTwice,
    /// Two PREFIX arguments of one CLIENT TRACKING overlap.
    TrackingPrefixOverlapsGiven(Bytes, Bytes),
    /// A PREFIX overlaps one the client registered earlier.
    TrackingPrefixOverlapsExisting(Bytes, Bytes),
    CachingNotOptInOut,
    CachingYesNotOptIn,
    CachingNoNotOptOut,
}

/// Redis prints arguments with `%.*s`/`%s`, which stop at a NUL byte.
fn c_str(b: &[u8]) -> &[u8] {
    match memchr::memchr(0, b) {
        Some(n) => &b[..n],
        None => b,
    }
}

fn trunc(b: &[u8], max: usize) -> &[u8] {
    let b = c_str(b);
    &b[..b.len().min(max)]
}

impl CmdError {
    /// The reply text without the leading `-` and trailing CRLF. The encoder replaces
    /// CR/LF inside it by spaces, as Redis does.
    pub fn to_reply(&self) -> Vec<u8> {
        let mut v = Vec::new();
        match self {
            CmdError::UnknownCommand(name, args) => {
                v.extend_from_slice(b"ERR unknown command '");
                v.extend_from_slice(trunc(name, 128));
                v.extend_from_slice(b"', with args beginning with: ");
                // Redis appends `'arg' ` while the list is shorter than 128 bytes, each
                // argument cut to what is left of the 128.
                let mut list = Vec::new();
                for arg in args {
                    if list.len() >= 128 {
                        break;
                    }
                    let room = 128 - list.len();
                    list.push(b'\'');
                    list.extend_from_slice(trunc(arg, room));
                    list.extend_from_slice(b"' ");
                }
                v.extend_from_slice(&list);
            }
            CmdError::UnknownSubcommand(container, sub) => {
                v.extend_from_slice(b"ERR unknown subcommand '");
                v.extend_from_slice(trunc(sub, 128));
                v.extend_from_slice(b"'. Try ");
                v.extend_from_slice(&c_str(container).to_ascii_uppercase());
                v.extend_from_slice(b" HELP.");
            }
            CmdError::SubcommandArity(container, sub) => {
                v.extend_from_slice(b"ERR unknown subcommand or wrong number of arguments for '");
                v.extend_from_slice(trunc(sub, 128));
                v.extend_from_slice(b"'. Try ");
                v.extend_from_slice(&c_str(container).to_ascii_uppercase());
                v.extend_from_slice(b" HELP.");
            }
            CmdError::WrongArity(name) => {
                v.extend_from_slice(format!("ERR wrong number of arguments for '{name}' command").as_bytes())
            }
            CmdError::NoAuth => v.extend_from_slice(b"NOAUTH Authentication required."),
            CmdError::SubscribeContext(name) => v.extend_from_slice(
                format!(
                    "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
                )
                .as_bytes(),
            ),
            CmdError::NotAllowedInMulti => {
                v.extend_from_slice(b"ERR Command not allowed inside a transaction")
            }
            CmdError::MultiNested => v.extend_from_slice(b"ERR MULTI calls can not be nested"),
            CmdError::ExecWithoutMulti => v.extend_from_slice(b"ERR EXEC without MULTI"),
            CmdError::DiscardWithoutMulti => v.extend_from_slice(b"ERR DISCARD without MULTI"),
            CmdError::ExecAbort => v.extend_from_slice(
                b"EXECABORT Transaction discarded because of previous errors.",
            ),
            CmdError::ExecAbortBecause(reason) => {
                v.extend_from_slice(b"EXECABORT Transaction discarded because of: ");
                v.extend_from_slice(reason);
            }
            CmdError::DenyBlocking(name) => v.extend_from_slice(
                format!("ERR {} isn't allowed for a DENY BLOCKING client", name.to_ascii_uppercase())
                    .as_bytes(),
            ),
            CmdError::TooManySubscriptions => {
                v.extend_from_slice(b"ERR max-subscriptions-per-client reached")
            }
            CmdError::BackplaneOversize(max) => v.extend_from_slice(
                format!("ERR message larger than the backplane's max_payload ({max} bytes)")
                    .as_bytes(),
            ),
            CmdError::AuthNotConfigured => v.extend_from_slice(
                b"ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            ),
            CmdError::WrongPass => v.extend_from_slice(
                b"WRONGPASS invalid username-password pair or user is disabled.",
            ),
            CmdError::HelloNoAuth => v.extend_from_slice(
                b"NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
            ),
            CmdError::NoProto => v.extend_from_slice(b"NOPROTO unsupported protocol version"),
            CmdError::ProtocolVersionNotInteger => v.extend_from_slice(
                b"ERR Protocol version is not an integer or out of range",
            ),
            CmdError::HelloSyntax(opt) => {
                v.extend_from_slice(b"ERR Syntax error in HELLO option '");
                v.extend_from_slice(c_str(opt));
                v.push(b'\'');
            }
            CmdError::NotAnInteger => {
                v.extend_from_slice(b"ERR value is not an integer or out of range")
            }
            CmdError::DbIndexOutOfRange => v.extend_from_slice(b"ERR DB index is out of range"),
            CmdError::Syntax => v.extend_from_slice(b"ERR syntax error"),
            CmdError::NoSuchClient => v.extend_from_slice(b"ERR No such client"),
            CmdError::ClientNameChars => v.extend_from_slice(
                b"ERR Client names cannot contain spaces, newlines or special characters.",
            ),
            CmdError::ClientInfoChars(attr) => v.extend_from_slice(
                format!("ERR {attr} cannot contain spaces, newlines or special characters.")
                    .as_bytes(),
            ),
            CmdError::UnrecognizedOption(opt) => {
                v.extend_from_slice(b"ERR Unrecognized option '");
                v.extend_from_slice(c_str(opt));
                v.push(b'\'');
            }
            CmdError::ConfigUnknownOption(sub, name) => {
                v.extend_from_slice(
                    format!("ERR Unknown option or number of arguments for CONFIG {sub} - '").as_bytes(),
                );
                v.extend_from_slice(c_str(name));
                v.push(b'\'');
            }
            // Redis 7's wording (Redis 6 said "Invalid argument '<value>' for CONFIG
            // SET '<name>'"); the reason after " - " is respub's own for its settings.
            CmdError::ConfigInvalidArgument(name, _value, why) => {
                v.extend_from_slice(b"ERR CONFIG SET failed (possibly related to argument '");
                v.extend_from_slice(c_str(name));
                v.extend_from_slice(format!("') - {why}").as_bytes());
            }
            CmdError::ConfigImmutable(name) => {
                v.extend_from_slice(b"ERR CONFIG SET failed (possibly related to argument '");
                v.extend_from_slice(c_str(name));
                v.extend_from_slice(b"') - can't set immutable config");
            }
            // Redis 7 `applyTlsCfg`'s words.
            CmdError::ConfigTls(name) => {
                v.extend_from_slice(b"ERR CONFIG SET failed (possibly related to argument '");
                v.extend_from_slice(c_str(name));
                v.extend_from_slice(
                    b"') - Unable to update TLS configuration. Check server logs.",
                );
            }
            CmdError::ConfigNoFile => {
                v.extend_from_slice(b"ERR The server is running without a config file")
            }
            CmdError::ConfigRewrite(why) => {
                v.extend_from_slice(format!("ERR Rewriting config file: {why}").as_bytes())
            }
            CmdError::UnknownClientType(t) => {
                v.extend_from_slice(b"ERR Unknown client type '");
                v.extend_from_slice(c_str(t));
                v.push(b'\'');
            }
            CmdError::InvalidClientId => v.extend_from_slice(b"ERR client-id should be greater than 0"),
            CmdError::InvalidClientIdList => v.extend_from_slice(b"ERR Invalid client ID"),
            CmdError::NoSuchUser(u) => {
                v.extend_from_slice(b"ERR No such user '");
                v.extend_from_slice(c_str(u));
                v.push(b'\'');
            }
            CmdError::CommandUnknownName => v.extend_from_slice(b"ERR Invalid command specified"),
            CmdError::MaxClients => v.extend_from_slice(b"ERR max number of clients reached"),
            // Redis 7.2 wording (getAclErrorMessage); 7.0 said "this user has no
            // permissions to run the '<cmd>' command".
            CmdError::NoPermCommand(user, cmd) => {
                v.extend_from_slice(b"NOPERM User ");
                v.extend_from_slice(user);
                v.extend_from_slice(format!(" has no permissions to run the '{cmd}' command").as_bytes());
            }
            // 7.0: "this user has no permissions to access one of the channels used as
            // arguments".
            CmdError::NoPermChannel => v.extend_from_slice(b"NOPERM No permissions to access a channel"),
            CmdError::NoPermChangedInMulti(reason) => v.extend_from_slice(
                format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}").as_bytes(),
            ),
            CmdError::AclRule(rule, why) => {
                v.extend_from_slice(b"ERR Error in ACL SETUSER modifier '");
                v.extend_from_slice(c_str(rule));
                v.extend_from_slice(format!("': {why}").as_bytes());
            }
            CmdError::AclUsernameSpaces => {
                v.extend_from_slice(b"ERR Usernames can't contain spaces or null characters")
            }
            CmdError::AclDeleteDefault => {
                v.extend_from_slice(b"ERR The 'default' user cannot be removed")
            }
            CmdError::AclUnknownCategory(c) => {
                v.extend_from_slice(b"ERR Unknown category '");
                v.extend_from_slice(c_str(c));
                v.push(b'\'');
            }
            CmdError::AclUserNotFound(u) => {
                v.extend_from_slice(b"ERR User '");
                v.extend_from_slice(c_str(u));
                v.extend_from_slice(b"' not found");
            }
            CmdError::AclCommandNotFound(c) => {
                v.extend_from_slice(b"ERR Command '");
                v.extend_from_slice(c_str(c));
                v.extend_from_slice(b"' not found");
            }
            CmdError::AclGenpassBits => v.extend_from_slice(
                b"ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
            ),
            CmdError::AclNoFile => v.extend_from_slice(
                b"ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
            ),
            CmdError::AclLoad(why) => {
                v.extend_from_slice(b"ERR ");
                v.extend_from_slice(why.as_bytes());
            }
            CmdError::AclSave => v.extend_from_slice(
                b"ERR There was an error trying to save the ACLs. Please check the server logs for more information",
            ),
            CmdError::SlowlogCount => {
                v.extend_from_slice(b"ERR count should be greater than or equal to -1")
            }
            CmdError::LatencyNoSamples(event) => {
                v.extend_from_slice(b"ERR No samples available for event '");
                v.extend_from_slice(c_str(event));
                v.push(b'\'');
            }
            CmdError::PauseTimeoutNotInteger => {
                v.extend_from_slice(b"ERR timeout is not an integer or out of range")
            }
            CmdError::PauseTimeoutNegative => v.extend_from_slice(b"ERR timeout is negative"),
            CmdError::PauseMode => {
                v.extend_from_slice(b"ERR CLIENT PAUSE mode must be WRITE or ALL")
            }
            CmdError::NoShutdownInProgress => v.extend_from_slice(b"ERR No shutdown in progress."),
            CmdError::MonitorDenyBlocking => {
                v.extend_from_slice(b"ERR MONITOR isn't allowed for DENY BLOCKING client")
            }
            CmdError::FunctionFlushOption => {
                v.extend_from_slice(b"ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
            }
            // "support", not "supports": Redis's own wording differs between the two.
            CmdError::ScriptFlushOption => {
                v.extend_from_slice(b"ERR SCRIPT FLUSH only support SYNC|ASYNC option")
            }
            CmdError::FunctionListUnknownArg(arg) => {
                v.extend_from_slice(b"ERR Unknown argument ");
                v.extend_from_slice(c_str(arg));
            }
            CmdError::FunctionListNoLibraryName => {
                v.extend_from_slice(b"ERR library name argument was not given")
            }
            CmdError::NotBusy => v.extend_from_slice(b"NOTBUSY No scripts in execution right now."),
            CmdError::TrackingBcastSwitch => v.extend_from_slice(
                b"ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            ),
            CmdError::TrackingOptSwitch => v.extend_from_slice(
                b"ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            ),
            CmdError::TrackingOptInAndOut => {
                v.extend_from_slice(b"ERR You can't specify both OPTIN mode and OPTOUT mode")
            }
            CmdError::TrackingOptWithBcast => {
                v.extend_from_slice(b"ERR OPTIN and OPTOUT are not compatible with BCAST")
            }
            CmdError::TrackingPrefixWithoutBcast => {
                v.extend_from_slice(b"ERR PREFIX option requires BCAST mode to be enabled")
            }
            CmdError::TrackingNoRedirectTarget => {
                v.extend_from_slice(b"ERR The client ID you want redirect to does not exist")
            }
            CmdError::TrackingRedirectTwice => {
                v.extend_from_slice(b"ERR A client can only redirect to a single other client")
            }
            CmdError::TrackingPrefixOverlapsGiven(a, b) | CmdError::TrackingPrefixOverlapsExisting(a, b) => {
                let what: &[u8] = if matches!(self, CmdError::TrackingPrefixOverlapsGiven(..)) {
                    b"another provided"
                } else {
                    b"an existing"
                };
                v.extend_from_slice(b"ERR Prefix '");
                v.extend_from_slice(c_str(a));
                v.extend_from_slice(b"' overlaps with ");
                v.extend_from_slice(what);
                v.extend_from_slice(b" prefix '");
                v.extend_from_slice(c_str(b));
                v.extend_from_slice(b"'. Prefixes for a single client must not overlap.");
            }
            CmdError::CachingNotOptInOut => v.extend_from_slice(
                b"ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
            ),
            CmdError::CachingYesNotOptIn => v.extend_from_slice(
                b"ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ),
            CmdError::CachingNoNotOptOut => v.extend_from_slice(
                b"ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ),
        }
        v
    }
}

/// Why a connection ended. Each variant is one log reason an operator may care about.
#[derive(Debug)]
pub enum ConnError {
    Io(std::io::Error),
    /// Malformed request; the error reply was sent before closing.
    Protocol(ProtocolError),
    /// A limit the client crossed (query buffer, output buffer, ...).
    Limit(&'static str),
}

impl From<std::io::Error> for ConnError {
    fn from(e: std::io::Error) -> Self {
        ConnError::Io(e)
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Io(e) => write!(f, "io: {e}"),
            ConnError::Protocol(p) => {
                f.write_str(&String::from_utf8_lossy(&protocol_error_text(*p)))
            }
            ConnError::Limit(what) => write!(f, "limit: {what}"),
        }
    }
}

/// `ERR Protocol error: ...` text for a decoder failure (networking.c wording).
pub fn protocol_error_text(e: ProtocolError) -> Vec<u8> {
    let detail: &[u8] = match e {
        ProtocolError::TooBigInlineRequest => b"too big inline request",
        ProtocolError::UnbalancedQuotes => b"unbalanced quotes in request",
        ProtocolError::TooBigMbulkCountString => b"too big mbulk count string",
        ProtocolError::InvalidMultibulkLength => b"invalid multibulk length",
        ProtocolError::UnauthenticatedMultibulkLength => b"unauthenticated multibulk length",
        ProtocolError::TooBigBulkCountString => b"too big bulk count string",
        // The raw byte, not its UTF-8 form; CR/LF become spaces in the encoder.
        ProtocolError::ExpectedDollar(b) => {
            return [
                b"ERR Protocol error: expected '$', got '".as_slice(),
                &[b, b'\''],
            ]
            .concat()
        }
        ProtocolError::InvalidBulkLength => b"invalid bulk length",
        ProtocolError::UnauthenticatedBulkLength => b"unauthenticated bulk length",
    };
    [b"ERR Protocol error: ".as_slice(), detail].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: &CmdError) -> String {
        String::from_utf8(e.to_reply()).unwrap()
    }

    #[test]
    fn unknown_command_lists_quoted_args() {
        assert_eq!(
            text(&CmdError::UnknownCommand(
                Bytes::from_static(b"NoSuch"),
                vec![Bytes::from_static(b"x"), Bytes::from_static(b"y")]
            )),
            "ERR unknown command 'NoSuch', with args beginning with: 'x' 'y' "
        );
        assert_eq!(
            text(&CmdError::UnknownCommand(
                Bytes::from_static(b"foo"),
                vec![]
            )),
            "ERR unknown command 'foo', with args beginning with: "
        );
    }

    #[test]
    fn unknown_command_args_are_cut_at_128_bytes() {
        let long = Bytes::from(vec![b'a'; 200]);
        let t = text(&CmdError::UnknownCommand(
            Bytes::from_static(b"x"),
            vec![long.clone(), long],
        ));
        let list = t.split("with: ").nth(1).unwrap();
        assert_eq!(list.len(), 128 + 3);
    }

    #[test]
    fn unknown_subcommand_uppercases_container() {
        assert_eq!(
            text(&CmdError::UnknownSubcommand(
                Bytes::from_static(b"pubsub"),
                Bytes::from_static(b"foo")
            )),
            "ERR unknown subcommand 'foo'. Try PUBSUB HELP."
        );
    }

    #[test]
    fn protocol_errors_carry_the_raw_byte() {
        assert_eq!(
            protocol_error_text(ProtocolError::ExpectedDollar(b'x')),
            b"ERR Protocol error: expected '$', got 'x'".to_vec()
        );
    }
}
