//! The `domain-os` command line: `serve` runs the appliance; `check-config`
//! validates a configuration; `zone export` and `import zone` work on the
//! store directly when the daemon is stopped and through the operator API
//! when it runs; the remaining commands are clients of the operator API.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::admin::client::{AdminClient, ClientError};
use crate::config::{Config, LogFormat};
use crate::daemon;
use crate::dns::zonefile::{self, Format};
use crate::model::{ClientId, Clock, DomainName, DsData, SystemClock};
use crate::ops::backup::BackupReport;
use crate::ops::systemd;
use crate::registry::{Command, Outcome, Registry, ZoneImport};
use crate::store::{ReadOnlyStore, StoreError, Upgrade};

#[derive(Parser)]
#[command(name = "domain-os", version, about = "A domain registry appliance: registry, authoritative DNS and operator API in one binary")]
pub struct Cli {
    /// Configuration file (TOML). Without one, the documented defaults serve on loopback.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Run the appliance until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Validate the configuration and print the effective settings.
    CheckConfig,
    /// Zone files.
    #[command(subcommand)]
    Zone(ZoneCmd),
    /// Load existing registry data.
    #[command(subcommand)]
    Import(ImportCmd),
    /// TLDs and their zone policy.
    #[command(subcommand)]
    Tld(TldCmd),
    /// Zone signing (DNSSEC) of a TLD.
    #[command(subcommand)]
    Dnssec(DnssecCmd),
    /// Registry data escrow deposits (RFC 8909, RFC 9022).
    #[command(subcommand)]
    Escrow(EscrowCmd),
    /// ICANN's monthly reports (RA Specification 3).
    #[command(subcommand)]
    Report(ReportCmd),
    /// Names of a TLD that cannot be registered: withheld (reserved; the
    /// registry may still allocate them) or blocked.
    #[command(subcommand)]
    Reserved(ReservedCmd),
    /// Premium names of a TLD: their own class and yearly prices.
    #[command(subcommand)]
    Premium(PremiumCmd),
    /// Allocation tokens (RFC 8495) of a TLD.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Launch applications (RFC 8334) of phases that collect them.
    #[command(subcommand)]
    Application(ApplicationCmd),
    /// What the Trademark Clearinghouse publishes, for sunrise and claims
    /// phases: its CA certificate and revocation list, the DNL, the SMD
    /// revocation list.
    #[command(subcommand)]
    Tmch(TmchCmd),
    /// Registrars.
    #[command(subcommand)]
    Registrar(RegistrarCmd),
    /// Domains (registry-side operations).
    #[command(subcommand)]
    Domain(DomainCmd),
    /// Hosts (name servers).
    #[command(subcommand)]
    Host(HostCmd),
    /// The store itself.
    #[command(subcommand)]
    Store(StoreCmd),
    /// Health, zone serials, object counts and the writer's queue of the running daemon.
    Status {
        /// The API's JSON answer instead of lines for people.
        #[arg(long)]
        json: bool,
    },
    /// Write a consistent copy of the whole store, while the daemon serves
    /// (through the operator API) or not (directly).
    Backup {
        /// The file to write; without it, a time-named file in the backup folder.
        #[arg(long, value_name = "FILE")]
        to: Option<PathBuf>,
    },
    /// Replace the store with a verified backup (the daemon must be stopped).
    Restore { file: PathBuf },
    /// Read a backup (or a stopped store) whole: schema version, every table, counts.
    Verify { file: PathBuf },
}

#[derive(Subcommand)]
enum StoreCmd {
    /// Migrate a store written by an older domain-os to this build's schema,
    /// saying what changed (`serve` does the same on start; nothing else does).
    Upgrade,
}

#[derive(Args)]
struct ServeArgs {
    /// Seed a demo registry (TLD `example`) unless the store already has it.
    #[arg(long)]
    demo: bool,
    /// Folder of the registry database.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Folder zone files are written to.
    #[arg(long, value_name = "DIR")]
    zones_dir: Option<PathBuf>,
    /// DNS address (UDP and TCP); repeat for several.
    #[arg(long, value_name = "ADDR")]
    dns_listen: Vec<SocketAddr>,
    /// Operator API address.
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<SocketAddr>,
    /// EPP address (TLS); repeat for several.
    #[arg(long, value_name = "ADDR")]
    epp_listen: Vec<SocketAddr>,
    /// RDAP address (HTTP, or HTTPS with a configured certificate); repeat for several.
    #[arg(long, value_name = "ADDR")]
    rdap_listen: Vec<SocketAddr>,
    /// WHOIS address (TCP); repeat for several.
    #[arg(long, value_name = "ADDR")]
    whois_listen: Vec<SocketAddr>,
}

#[derive(Subcommand)]
enum ZoneCmd {
    /// Write `<zones_dir>/<tld>.zone` from one snapshot.
    Export {
        tld: String,
        /// `bind` (default) or `czds` (ICANN Centralized Zone Data Service format).
        #[arg(long, default_value = "bind")]
        format: String,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Import a TLD zone file: delegations become domains, name servers hosts.
    Zone {
        file: PathBuf,
        #[arg(long)]
        tld: String,
        /// Registrar that will sponsor the imported objects.
        #[arg(long)]
        registrar: String,
        #[arg(long, default_value_t = 1)]
        period_years: u32,
        /// Serve the file's SOA fields, apex NS set and TTLs instead of the TLD's policy.
        #[arg(long)]
        apex_from_file: bool,
    },
    /// Load a registry deposit (RFC 9022 FULL, as `.ryde` or plain XML):
    /// registrars, contacts, hosts and domains, all or none. Imported
    /// registrars have no EPP credentials until they are set.
    Escrow {
        file: PathBuf,
        /// The escrow agent's secret key, to decrypt a `.ryde`.
        #[arg(long)]
        decrypt_key: Option<PathBuf>,
        /// The depositing registry's certificate: the `.sig` beside a `.ryde` must verify.
        #[arg(long)]
        signer_cert: Option<PathBuf>,
        /// Apex name servers, to create the TLD (default policy) when it does not exist.
        #[arg(long = "ns", value_delimiter = ',')]
        nameservers: Vec<String>,
    },
}

#[derive(Subcommand)]
enum TldCmd {
    List,
    /// Make the TLD a gTLD, whose registrars must be IANA-accredited
    /// (`true`), or an ordinary TLD again (`false`).
    Gtld {
        name: String,
        #[arg(action = clap::ArgAction::Set)]
        gtld: bool,
    },
    Show {
        name: String,
    },
    /// Create a TLD: `--ns` apex name servers; `--set key=value` for other policy
    /// fields (soa_rname, soa_refresh_s, delegation_ttl_s, glue_policy=wide, …).
    Create {
        name: String,
        #[arg(long = "ns", required = true)]
        nameservers: Vec<String>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// Change a TLD: `--ns` replaces the apex name servers, `--dnssec` signs
    /// the zone (nsec3, nsec3-optout, nsec) or stops signing it (off).
    Update {
        name: String,
        #[arg(long = "ns")]
        nameservers: Vec<String>,
        #[arg(long, value_parser = ["off", "nsec3", "nsec3-optout", "nsec"])]
        dnssec: Option<String>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// The TLD's launch timeline (RFC 8334 phases).
    #[command(subcommand)]
    Phase(PhaseCmd),
    /// The TLD's IDN table (an RFC 7940 LGR's repertoire and variants).
    #[command(subcommand)]
    Idn(IdnCmd),
}

#[derive(Subcommand)]
enum IdnCmd {
    /// Set the table from an LGR file: labels must use its repertoire, and
    /// variants of registered names follow `--policy`.
    Set {
        tld: String,
        lgr: PathBuf,
        /// The table's id, as escrow and RDAP name it (`sv-1.0`).
        #[arg(long)]
        id: String,
        /// `blocked`, or `same-registrar`.
        #[arg(long, value_parser = ["blocked", "same-registrar"], default_value = "blocked")]
        policy: String,
        /// Take no pure ASCII labels.
        #[arg(long)]
        idn_only: bool,
        /// Where the table is published; with --url-policy, escrow deposits name the table.
        #[arg(long)]
        url: Option<String>,
        /// The registry's IDN policy page.
        #[arg(long)]
        url_policy: Option<String>,
    },
    Show {
        tld: String,
    },
    Remove {
        tld: String,
    },
}

#[derive(Subcommand)]
enum PhaseCmd {
    /// Add a phase that begins now or later and overlaps no other.
    Add {
        tld: String,
        /// `sunrise` (signed marks), `landrush`, `open` (general availability), `claims`
        /// (general availability under trademark claims), `closed`, or `custom` (with --name).
        #[arg(long, value_parser = ["sunrise", "landrush", "open", "claims", "closed", "custom"])]
        kind: String,
        /// A custom phase's name, as `<launch:phase name="…">` carries it.
        #[arg(long)]
        name: Option<String>,
        /// RFC 3339.
        #[arg(long)]
        starts: String,
        /// RFC 3339; none for a phase without end.
        #[arg(long)]
        ends: Option<String>,
        /// The yearly create price in the phase, e.g. `100.00`.
        #[arg(long)]
        create_price: Option<String>,
        /// Early access: the create price of each day of the phase, declining
        /// (`5000.00,2500.00,100.00`; the last holds for the days after).
        #[arg(long, value_delimiter = ',', conflicts_with = "create_price")]
        daily_create_prices: Vec<String>,
        /// Trademark claims beside a landrush, open or custom phase: creates
        /// of DNL labels carry a claims notice.
        #[arg(long)]
        claims: bool,
        /// A sunrise, landrush or custom phase that collects applications
        /// (`<launch:create type="application">`), allocated when it ends.
        #[arg(long)]
        applications: bool,
        /// The label lengths the phase takes, in characters: `1-3`.
        #[arg(long, value_parser = label_lengths)]
        label_lengths: Option<(u8, u8)>,
        /// A fee beside the price, never refunded: `COMMAND:AMOUNT:DESCRIPTION`
        /// with COMMAND `create`, `renew` or `restore` (`create:50.00:Sunrise fee`).
        #[arg(long = "fee", value_name = "COMMAND:AMOUNT:DESCRIPTION")]
        fees: Vec<String>,
        /// A fee beside the price that a delete in the grace period refunds with it.
        #[arg(long = "refundable-fee", value_name = "COMMAND:AMOUNT:DESCRIPTION")]
        refundable_fees: Vec<String>,
        /// The phase's own prices and policy: `renew_price`, `transfer_price`,
        /// `restore_price`, `add_grace_s`, `years_max`, `transfer_lock_days`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// The timeline.
    List { tld: String },
    /// Remove a phase that has not begun, by its start (RFC 3339).
    Remove { tld: String, starts: String },
}

#[derive(Subcommand)]
enum EscrowCmd {
    /// Write a RyDE deposit of a TLD from the latest commit into the
    /// escrow folder: `<tld>_<date>_full_S1_R0.ryde`, its `.sig`, and the
    /// report for ICANN, `<tld>_<date>_full_S1_R0-report.xml` (a BRDA has
    /// no report).
    Deposit {
        tld: String,
        /// `full` (escrow, to the agent), `diff` (what changed since the
        /// previous escrow deposit, to the agent) or `brda` (bulk
        /// registration data, to ICANN, `_thin_` in the file name).
        #[arg(long = "type", value_parser = ["full", "diff", "brda"], default_value = "full")]
        kind: String,
        /// Also leave the plain XML beside it.
        #[arg(long)]
        keep_xml: bool,
    },
    /// The last escrow deposit and BRDA made of a TLD: what the next DIFF
    /// follows and where the schedule resumes.
    Status { tld: String },
    /// Check a deposit (`.ryde` with its `.sig`, or the plain `.xml`) as
    /// ICANN's registry system tests do (RST rde-01 to rde-15) and print
    /// each case's result; exits non-zero when one fails. Runs on the file
    /// alone: no daemon is needed.
    Verify {
        file: PathBuf,
        /// The escrow agent's secret key, to decrypt a `.ryde`.
        #[arg(long)]
        decrypt_key: Option<PathBuf>,
        /// The registry's OpenPGP certificate, to check the `.sig`.
        #[arg(long)]
        signer_cert: Option<PathBuf>,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ReportCmd {
    /// The registry functions activity report of a TLD for a month:
    /// writes `<tld>-activity-YYYYMM.csv`; `--check FILE` checks a file
    /// against ICANN's column definitions instead.
    Activity(ReportArgs),
    /// The per-registrar transactions report of a TLD for a month: writes
    /// `<tld>-transactions-YYYYMM.csv`; `--check FILE` checks a file.
    Transactions(ReportArgs),
    /// PUT a month's reports to ICANN's reporting interface (`[reports]
    /// icann`): those not accepted yet, or all with `--again`.
    Send {
        tld: String,
        /// YYYY-MM.
        month: String,
        #[arg(long)]
        again: bool,
    },
    /// Record a month's DNS query counts of a name server the registry does
    /// not run (an external secondary), for the activity report.
    Dns {
        tld: String,
        /// YYYY-MM.
        month: String,
        /// The name server's name.
        server: String,
        #[arg(long)]
        udp_received: u64,
        #[arg(long)]
        udp_responded: u64,
        #[arg(long)]
        tcp_received: u64,
        #[arg(long)]
        tcp_responded: u64,
    },
}

#[derive(Subcommand)]
enum ReservedCmd {
    /// Reserve the names of a file: one label or name per line, `#` comments
    /// (RA Specification 5 lists, the operator's own); all of them or none.
    Import {
        tld: String,
        file: PathBuf,
        #[command(flatten)]
        how: Reservation,
    },
    /// Reserve names (labels or names directly below the TLD).
    Add {
        tld: String,
        #[arg(required = true)]
        names: Vec<String>,
        #[command(flatten)]
        how: Reservation,
    },
    /// End reservations.
    Remove {
        tld: String,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// A page of the TLD's reserved names, in canonical order.
    List {
        tld: String,
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Issue a token (its text is printed): for one name, one registrar, a
    /// number of creates, a create price of its own, until a date.
    Issue {
        tld: String,
        /// The only name it allocates (a label or a name); a reserved one too.
        #[arg(long)]
        name: Option<String>,
        /// The only registrar that may use it.
        #[arg(long)]
        registrar: Option<String>,
        /// How many creates it allows.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// The yearly create price with it, e.g. `5.00`.
        #[arg(long)]
        create_price: Option<String>,
        /// Until when (RFC 3339).
        #[arg(long)]
        expires: Option<String>,
    },
    /// The TLD's tokens.
    List { tld: String },
    /// Revoke a token.
    Revoke { token: String },
}

#[derive(Subcommand)]
enum ApplicationCmd {
    /// The TLD's applications, with their status.
    List { tld: String },
    /// Allocate the name to an application once its phase is over (the
    /// others for the name are rejected).
    Allocate { id: String },
    /// Reject an application: what it paid, but for fees that are not refundable, goes back.
    Reject { id: String },
}

/// `MIN-MAX` label lengths.
fn label_lengths(text: &str) -> Result<(u8, u8), String> {
    let (min, max) = text.split_once('-').ok_or("label lengths are MIN-MAX, e.g. 1-3")?;
    let parse = |n: &str| n.trim().parse::<u8>().map_err(|_| format!("{n:?} is not a length"));
    Ok((parse(min)?, parse(max)?))
}

#[derive(Subcommand)]
enum TmchCmd {
    /// Load a file as the TMCH publishes it, in place of the one held: the CA
    /// certificate (`ca`, PEM), its revocation list (`crl`, PEM), the DNL
    /// (`dnl`) or the SMD revocation list (`smdrl`).
    Import {
        #[arg(value_parser = ["ca", "crl", "dnl", "smdrl"])]
        list: String,
        file: PathBuf,
    },
    /// What the registry holds of them.
    Show,
    /// Write a LORDN file of a TLD for the TMCH: the sunrise or claims
    /// registrations made in a period (by default, all until now).
    Lordn {
        tld: String,
        #[arg(value_parser = ["sunrise", "claims"])]
        kind: String,
        /// RFC 3339.
        #[arg(long)]
        from: Option<String>,
        /// RFC 3339.
        #[arg(long)]
        to: Option<String>,
        /// The folder to write the file in.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum PremiumCmd {
    /// Price the names of a CSV file: `label,class,create,renew[,transfer]`
    /// per line (amounts like `120.00` in the TLD's currency), an optional
    /// header line, `#` comments; all of them or none.
    Import { tld: String, file: PathBuf },
    /// Give names their standard prices again.
    Remove {
        tld: String,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// A page of the TLD's premium names, in canonical order.
    List {
        tld: String,
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Args)]
struct Reservation {
    /// `withheld` (reserved) or `blocked`.
    #[arg(long, value_parser = ["withheld", "blocked"], default_value = "withheld")]
    state: String,
    /// Why, as `check` refusals and the API show it.
    #[arg(long)]
    reason: String,
    /// The list the names come from (`spec5`, `operator`, `collision`, …).
    #[arg(long, default_value = "operator")]
    list: String,
}

#[derive(Args)]
struct ReportArgs {
    #[arg(required_unless_present = "check")]
    tld: Option<String>,
    /// YYYY-MM (UTC).
    #[arg(required_unless_present = "check")]
    month: Option<String>,
    /// The folder to write the file in.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Check this file instead of writing one; exits non-zero when it fails.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["tld", "month"])]
    check: Option<PathBuf>,
}

#[derive(Subcommand)]
enum DnssecCmd {
    /// A TLD's keys and their states, their DS records for the parent, the
    /// next key step, and the earliest signature expiry.
    Status { tld: String },
    /// Begin a rollover of the TLD's ZSK (pre-publication), its KSK (double
    /// signature), or every key (a new KSK and ZSK, of `--algorithm` if
    /// given: an algorithm rollover) now; later steps follow by themselves.
    Roll {
        tld: String,
        #[arg(value_parser = ["zsk", "ksk", "all"])]
        key: String,
        #[arg(long)]
        algorithm: Option<u8>,
    },
    /// Confirm that the parent serves the DS of the new KSK: the old KSK
    /// leaves once the parent's DS TTL has passed.
    DsSeen { tld: String, key_tag: u16 },
}

#[derive(Subcommand)]
enum RegistrarCmd {
    List,
    Show {
        id: String,
    },
    /// Create a registrar; `--set key=value` for phone, url, abuse_email, iana_id, …
    Create {
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    Update {
        id: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// Add to a registrar's account balance (negative to take funds away), e.g. `1000.00`.
    Fund {
        id: String,
        #[arg(allow_hyphen_values = true)]
        amount: String,
        /// The account's currency (ISO 4217); by default, the one its TLDs price in.
        #[arg(long)]
        currency: Option<String>,
    },
    /// Issue an EPP client certificate from the appliance's private CA (in the
    /// data folder) and pin it to the registrar, beside any already pinned.
    Certificate {
        id: String,
    },
    /// Let the registrar act on a TLD (a new registrar is accredited for
    /// every TLD unless created with `--set 'tlds=["…"]'`; a new TLD for
    /// every registrar). Again, it changes the currency the registrar pays in.
    Accredit {
        id: String,
        tld: String,
        /// The currency the registrar pays the TLD's fees in: one of the
        /// TLD's `exchange_rates` (without: the TLD's own).
        #[arg(long)]
        currency: Option<String>,
    },
    /// End the registrar's accreditation for a TLD: what it sponsors there
    /// stays, but it can no longer act on it.
    Unaccredit {
        id: String,
        tld: String,
    },
    /// The TLDs the registrar is accredited for.
    Accreditations {
        id: String,
    },
    /// Load IANA's registrar list (its CSV, `ID,Registrar Name,Status,RDAP
    /// Base URL`): registrars given an IANA id must then hold an accredited
    /// one. Prints the registrars whose id it does not accredit.
    IanaImport {
        file: PathBuf,
    },
    /// A page of the registrar's account history (every debit and credit
    /// with the command that made it), oldest first.
    Ledger {
        id: String,
        /// Entries after this sequence number.
        #[arg(long)]
        after: Option<u64>,
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Subcommand)]
enum DomainCmd {
    List {
        tld: String,
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
    },
    Show {
        name: String,
    },
    Create {
        name: String,
        #[arg(long)]
        registrar: String,
        #[arg(long = "ns")]
        nameservers: Vec<String>,
        /// DS record in presentation form: "KEYTAG ALG DIGESTTYPE HEX".
        #[arg(long)]
        ds: Vec<String>,
        #[arg(long)]
        status: Vec<String>,
        #[arg(long, default_value_t = 1)]
        years: u32,
    },
    Update {
        name: String,
        #[arg(long)]
        add_ns: Vec<String>,
        #[arg(long)]
        remove_ns: Vec<String>,
        #[arg(long)]
        add_ds: Vec<String>,
        #[arg(long)]
        remove_ds: Vec<String>,
        #[arg(long)]
        remove_all_ds: bool,
        #[arg(long)]
        add_status: Vec<String>,
        #[arg(long)]
        remove_status: Vec<String>,
        /// Move sponsorship to another registrar.
        #[arg(long)]
        registrar: Option<String>,
    },
    Delete {
        name: String,
    },
}

#[derive(Subcommand)]
enum HostCmd {
    List {
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
    },
    Show {
        name: String,
    },
    Create {
        name: String,
        #[arg(long)]
        registrar: Option<String>,
        #[arg(long = "addr")]
        addresses: Vec<String>,
    },
    Update {
        name: String,
        #[arg(long)]
        add_addr: Vec<String>,
        #[arg(long)]
        remove_addr: Vec<String>,
        #[arg(long)]
        rename: Option<String>,
        #[arg(long)]
        add_status: Vec<String>,
        #[arg(long)]
        remove_status: Vec<String>,
    },
    Delete {
        name: String,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::default()),
    }
}

fn init_logging(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logger = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => logger.with_ansi(ansi).try_init(),
        LogFormat::Json => logger.json().with_current_span(true).with_span_list(false).try_init(),
    };
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = load_config(cli.config.as_ref())?;
    match cli.command {
        Commands::Serve(args) => {
            if let Some(d) = args.data_dir {
                config.data_dir = d;
            }
            if let Some(d) = args.zones_dir {
                config.zones_dir = d;
            }
            if !args.dns_listen.is_empty() {
                config.dns.listen = args.dns_listen;
            }
            if let Some(a) = args.admin_listen {
                config.admin.listen = a;
            }
            if !args.rdap_listen.is_empty() {
                config.rdap.listen = args.rdap_listen;
            }
            if !args.whois_listen.is_empty() {
                config.whois.listen = args.whois_listen;
            }
            if !args.epp_listen.is_empty() {
                config.epp.listen = args.epp_listen;
            }
            init_logging(&config.log, config.log_format);
            // SAFETY: no thread has been started yet; the runtime is created below.
            #[allow(unsafe_code)]
            unsafe {
                systemd::adopt_listen_fds()
            };
            let runtime = runtime()?;
            let served = runtime.block_on(serve(config, args.demo));
            // Tasks a bounded shutdown cut off are not waited for again.
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            served
        }
        Commands::CheckConfig => {
            config.validate()?;
            crate::dns::tsig::Keyring::load(&config.dns.tsig_key_files)?;
            println!("{}", config.to_toml());
            eprintln!("configuration is valid");
            Ok(())
        }
        Commands::Zone(ZoneCmd::Export { tld, format }) => {
            init_logging("warn", config.log_format);
            let format: Format = serde_json::from_value(json!(format)).map_err(|_| anyhow!("--format is bind or czds"))?;
            runtime()?.block_on(zone_export(&config, &tld, format))
        }
        Commands::Store(StoreCmd::Upgrade) => {
            init_logging("error", config.log_format);
            let store = daemon::open_store(&config, Upgrade::Allowed)?;
            match store.upgrades() {
                [] => println!("{} is at schema {}; nothing to do", config.db_path().display(), crate::store::SCHEMA_VERSION),
                steps => steps.iter().for_each(|s| println!("{s}")),
            }
            Ok(())
        }
        Commands::Status { json } => {
            init_logging("warn", config.log_format);
            runtime()?.block_on(status(&config, json))
        }
        Commands::Backup { to } => {
            init_logging("warn", config.log_format);
            runtime()?.block_on(backup(&config, to))
        }
        Commands::Restore { file } => {
            init_logging("warn", config.log_format);
            let bar = Progress::new("verifying", None);
            let keys = crate::registry::keys::Keys::open(&config)?;
            let restored = crate::store::backup::restore(&file, &config.db_path(), &mut |files| keys.install(files), &mut |table, rows| {
                bar.set_table(table, rows)
            });
            bar.finish();
            let summary = match restored {
                Err(StoreError::Locked) => bail!("the store is in use: stop the daemon before restoring"),
                other => other?,
            };
            // A signed zone whose private key did not come back could not change again.
            keys.export(&ReadOnlyStore::open(&config.db_path())?.snapshot()?)
                .context("the restored store cannot sign its zones (a backup from before keys were carried?)")?;
            eprintln!("restored {} into {}", file.display(), config.db_path().display());
            println!("{}", serde_json::to_string_pretty(&BackupReport::new(config.db_path(), summary, Default::default()))?);
            Ok(())
        }
        Commands::Verify { file } => {
            let started = std::time::Instant::now();
            let bar = Progress::new("verifying", None);
            let verified = crate::store::backup::verify(&file, &mut |table, rows| bar.set_table(table, rows));
            bar.finish();
            let summary = verified?;
            println!("{}", serde_json::to_string_pretty(&BackupReport::new(file, summary, started.elapsed()))?);
            Ok(())
        }
        Commands::Import(ImportCmd::Zone { file, tld, registrar, period_years, apex_from_file }) => {
            init_logging("warn", config.log_format);
            import_zone(&config, &file, &tld, &registrar, period_years, apex_from_file)
        }
        Commands::Import(ImportCmd::Escrow { file, decrypt_key, signer_cert, nameservers }) => {
            init_logging("warn", config.log_format);
            import_deposit(&config, &file, decrypt_key.as_deref(), signer_cert.as_deref(), &nameservers)
        }
        Commands::Tld(cmd) => admin(&config, tld_request(cmd)?),
        Commands::Escrow(EscrowCmd::Status { tld }) => {
            admin(&config, request(Method::GET, format!("/v1/tlds/{}/escrow", path_name(&tld)?), None))
        }
        Commands::Escrow(EscrowCmd::Deposit { tld, kind, keep_xml }) => admin(
            &config,
            request(Method::POST, format!("/v1/tlds/{}/escrow", path_name(&tld)?), Some(json!({ "type": kind, "keep_xml": keep_xml }))),
        ),
        Commands::Escrow(EscrowCmd::Verify { file, decrypt_key, signer_cert, json }) => {
            let keys = crate::escrow::verify::VerifyKeys { decrypt_key, signer_cert };
            let report = crate::escrow::verify::verify(&file, &keys)?;
            match json {
                true => println!("{}", serde_json::to_string_pretty(&report)?),
                false => print!("{report}"),
            }
            if !report.passed() {
                bail!("{} does not pass: {}", file.display(), report.codes().into_iter().collect::<Vec<_>>().join(", "));
            }
            Ok(())
        }
        Commands::Reserved(ReservedCmd::Import { tld, file, how }) => {
            let tld_name = DomainName::parse(&tld)?;
            let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
            let names = crate::model::reserved::parse_list(&text, &tld_name)
                .map_err(|problems| anyhow!("{}:\n  {}", file.display(), problems.join("\n  ")))?;
            let names: Vec<&str> = names.iter().map(DomainName::as_str).collect();
            admin(&config, reserve_request(&tld, &names, &how)?)
        }
        Commands::Reserved(ReservedCmd::Add { tld, names, how }) => {
            admin(&config, reserve_request(&tld, &names.iter().map(String::as_str).collect::<Vec<_>>(), &how)?)
        }
        Commands::Reserved(ReservedCmd::Remove { tld, names }) => admin(
            &config,
            request(Method::POST, format!("/v1/tlds/{}/reserved/release", path_name(&tld)?), Some(json!({ "names": names }))),
        ),
        Commands::Reserved(ReservedCmd::List { tld, after, limit }) => admin(&config, name_page(&tld, "reserved", after, limit)?),
        Commands::Premium(PremiumCmd::Import { tld, file }) => {
            let tld_name = DomainName::parse(&tld)?;
            let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
            let names = crate::model::premium::parse_list(&text, &tld_name)
                .map_err(|problems| anyhow!("{}:\n  {}", file.display(), problems.join("\n  ")))?;
            let names: Vec<Value> = names
                .iter()
                .map(|p| {
                    json!({ "name": p.name, "class": p.class, "create": p.prices.create, "renew": p.prices.renew, "transfer": p.prices.transfer })
                })
                .collect();
            admin(&config, request(Method::POST, format!("/v1/tlds/{}/premium", path_name(&tld)?), Some(json!({ "names": names }))))
        }
        Commands::Token(TokenCmd::Issue { tld, name, registrar, uses, create_price, expires }) => {
            let body = json!({ "name": name, "registrar": registrar, "uses": uses, "create_price": create_price, "expires": expires });
            admin(&config, request(Method::POST, format!("/v1/tlds/{}/tokens", path_name(&tld)?), Some(body)))
        }
        Commands::Tmch(TmchCmd::Import { list, file }) => {
            let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
            admin(&config, request(Method::PUT, format!("/v1/tmch/{list}"), Some(json!({ "text": text }))))
        }
        Commands::Tmch(TmchCmd::Lordn { tld, kind, from, to, out }) => {
            let query: Vec<String> = [from.map(|f| format!("from={f}")), to.map(|t| format!("to={t}"))].into_iter().flatten().collect();
            let path = format!("/v1/tlds/{}/lordn/{kind}?{}", path_name(&tld)?, query.join("&"));
            let file = runtime()?.block_on(client(&config)?.call(Method::GET, &path, None))?;
            let (Some(name), Some(csv)) = (file["file_name"].as_str(), file["csv"].as_str()) else {
                bail!("the daemon sent no LORDN file")
            };
            let path = out.join(name);
            std::fs::write(&path, csv).with_context(|| path.display().to_string())?;
            println!("{}", path.display());
            Ok(())
        }
        Commands::Tmch(TmchCmd::Show) => admin(&config, request(Method::GET, "/v1/tmch".into(), None)),
        Commands::Token(TokenCmd::List { tld }) => {
            admin(&config, request(Method::GET, format!("/v1/tlds/{}/tokens", path_name(&tld)?), None))
        }
        Commands::Token(TokenCmd::Revoke { token }) => admin(&config, request(Method::POST, format!("/v1/tokens/{token}/revoke"), None)),
        Commands::Application(ApplicationCmd::List { tld }) => {
            admin(&config, request(Method::GET, format!("/v1/tlds/{}/applications", path_name(&tld)?), None))
        }
        Commands::Application(ApplicationCmd::Allocate { id }) => {
            admin(&config, request(Method::POST, format!("/v1/applications/{id}/allocate"), None))
        }
        Commands::Application(ApplicationCmd::Reject { id }) => {
            admin(&config, request(Method::POST, format!("/v1/applications/{id}/reject"), None))
        }
        Commands::Premium(PremiumCmd::Remove { tld, names }) => {
            admin(&config, request(Method::POST, format!("/v1/tlds/{}/premium/remove", path_name(&tld)?), Some(json!({ "names": names }))))
        }
        Commands::Premium(PremiumCmd::List { tld, after, limit }) => admin(&config, name_page(&tld, "premium", after, limit)?),
        Commands::Report(ReportCmd::Activity(args)) => report(&config, crate::report::ReportKind::Activity, args),
        Commands::Report(ReportCmd::Transactions(args)) => report(&config, crate::report::ReportKind::Transactions, args),
        Commands::Report(ReportCmd::Send { tld, month, again }) => admin(
            &config,
            request(Method::POST, format!("/v1/tlds/{}/reports/{month}/send", path_name(&tld)?), Some(json!({ "again": again }))),
        ),
        Commands::Report(ReportCmd::Dns { tld, month, server, udp_received, udp_responded, tcp_received, tcp_responded }) => admin(
            &config,
            request(
                Method::PUT,
                format!("/v1/tlds/{}/reports/{month}/dns/{}", path_name(&tld)?, path_name(&server)?),
                Some(
                    json!({ "udp_received": udp_received, "udp_responded": udp_responded, "tcp_received": tcp_received, "tcp_responded": tcp_responded }),
                ),
            ),
        ),
        Commands::Dnssec(DnssecCmd::Status { tld }) => {
            admin(&config, request(Method::GET, format!("/v1/tlds/{}/dnssec", path_name(&tld)?), None))
        }
        Commands::Dnssec(DnssecCmd::Roll { tld, key, algorithm }) => {
            let body = match algorithm {
                Some(algorithm) => json!({ "key": key, "algorithm": algorithm }),
                None => json!({ "key": key }),
            };
            admin(&config, request(Method::POST, format!("/v1/tlds/{}/dnssec/roll", path_name(&tld)?), Some(body)))
        }
        Commands::Dnssec(DnssecCmd::DsSeen { tld, key_tag }) => admin(
            &config,
            request(Method::POST, format!("/v1/tlds/{}/dnssec/ds-seen", path_name(&tld)?), Some(json!({ "key_tag": key_tag }))),
        ),
        Commands::Registrar(RegistrarCmd::Certificate { id }) => issue_client_certificate(&config, &id),
        Commands::Registrar(cmd) => admin(&config, registrar_request(cmd)?),
        Commands::Domain(cmd) => admin(&config, domain_request(cmd)?),
        Commands::Host(cmd) => admin(&config, host_request(cmd)?),
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let daemon = daemon::start(&config, Arc::new(SystemClock), daemon::Options { demo }).await?;
    systemd::close_unclaimed();
    print_banner(&config, &daemon, demo);
    systemd::notify(&format!("READY=1\nSTATUS=serving; operator API on {}", daemon.admin_addr));
    let (stop_watchdog, watchdog_stopped) = tokio::sync::watch::channel(false);
    let watchdog = systemd::watchdog_interval()
        .map(|interval| tokio::spawn(systemd::feed_watchdog(daemon.registry.clone(), interval, watchdog_stopped)));
    let failure = tokio::select! {
        () = daemon::wait_for_signal() => None,
        reason = daemon.failed() => Some(reason),
    };
    systemd::notify(&match &failure {
        None => "STOPPING=1\nSTATUS=shutting down".to_string(),
        Some(reason) => format!("STOPPING=1\nSTATUS=stopping: {reason}"),
    });
    let _ = stop_watchdog.send(true);
    if let Some(watchdog) = watchdog {
        let _ = watchdog.await;
    }
    daemon.shutdown().await;
    // A non-zero exit has the supervisor start the daemon again, which reopens the store.
    match failure {
        None => Ok(()),
        Some(reason) => Err(anyhow!("stopped because the registry cannot go on: {reason}")),
    }
}

/// A path as the operator should see it: absolute.
fn shown(path: &std::path::Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

fn print_banner(config: &Config, daemon: &daemon::Daemon, demo: bool) {
    let dns = daemon.dns_addrs.first().copied();
    let mut out = String::new();
    out.push_str(if demo { "domain-os is serving the demo registry\n" } else { "domain-os is serving\n" });
    for addr in &daemon.dns_addrs {
        out.push_str(&format!("  DNS           {addr} (UDP and TCP)\n"));
    }
    for addr in &daemon.epp_addrs {
        let (cert, _) = config.epp_certificate();
        out.push_str(&format!(
            "  EPP           {addr} (TLS; server certificate {}, CA {})\n",
            shown(&cert),
            shown(&config.tls_dir().join("ca.pem"))
        ));
    }
    if !daemon.rdap_addrs.is_empty() {
        out.push_str(&format!(
            "  RDAP          {}  (try {}domain/hello.example, {}help)\n",
            daemon.rdap_base, daemon.rdap_base, daemon.rdap_base
        ));
    }
    for addr in &daemon.whois_addrs {
        out.push_str(&format!("  WHOIS         {addr}  (try: whois -h {} -p {} hello.example)\n", addr.ip(), addr.port()));
    }
    out.push_str(&format!("  operator API  http://{}/v1  (bearer token in {})\n", daemon.admin_addr, shown(&config.token_path())));
    out.push_str(&format!("  data          {}   zone files: {}\n", shown(&config.data_dir), shown(&config.zones_dir)));
    if let Some(dns) = dns {
        let (ip, port) = (dns.ip(), dns.port());
        out.push_str("Try:\n");
        out.push_str(&format!("  dig @{ip} -p {port} example SOA\n"));
        out.push_str(&format!("  dig @{ip} -p {port} www.hello.example A      # referral with glue\n"));
        out.push_str(&format!("  dig @{ip} -p {port} example AXFR             # transfers are allowed from loopback\n"));
        out.push_str(&format!("  dig +dnssec @{ip} -p {port} hello.example DS # signed, with its RRSIG\n"));
        out.push_str("  domain-os tld list    domain-os domain show hello.example    domain-os zone export example\n");
    }
    if demo {
        out.push_str(&demo_ds_lines(daemon));
        for id in [crate::demo::REGISTRAR, crate::demo::OTHER_REGISTRAR] {
            out.push_str(&format!(
                "Demo registrar {id}: EPP password {}, client certificate {} (key {})\n",
                crate::demo::REGISTRAR_PASSWORD,
                shown(&config.tls_dir().join(format!("{id}.pem"))),
                shown(&config.tls_dir().join(format!("{id}.key"))),
            ));
        }
    }
    out.push_str("Stop with Ctrl-C.\n");
    let _ = std::io::stdout().write_all(out.as_bytes());
    let _ = std::io::stdout().flush();
}

/// The demo TLD's DS records, for a parent (or a resolver's trust anchor).
fn demo_ds_lines(daemon: &daemon::Daemon) -> String {
    let tld = crate::model::DomainName::parse(crate::demo::TLD).expect("valid name");
    let Ok(Some(signing)) = daemon.registry.snapshot().zone_signing(&tld) else {
        return String::new();
    };
    let denial = signing.denial.as_str();
    let mut out = format!("Demo TLD signed ({denial}); DS for the parent or a resolver's trust anchor:\n");
    for key in signing.keys.iter().filter(|k| k.role != crate::model::dnssec::KeyRole::Zsk) {
        out.push_str(&format!("  {}\n", key.ds_record(&tld)));
    }
    out
}

fn client(config: &Config) -> anyhow::Result<AdminClient> {
    let path = config.token_path();
    let token = std::fs::read_to_string(&path)
        .with_context(|| format!("no operator API token at {} (start `domain-os serve` once to create it)", path.display()))?;
    let mut addr = config.admin.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(AdminClient::new(format!("http://{addr}"), token.trim().to_string()))
}

struct ApiRequest {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn request(method: Method, path: String, body: Option<Value>) -> ApiRequest {
    ApiRequest { method, path, body }
}

fn admin(config: &Config, req: ApiRequest) -> anyhow::Result<()> {
    let client = client(config)?;
    let result = runtime()?.block_on(client.call(req.method, &req.path, req.body.as_ref()));
    match result {
        Ok(Value::Null) => Ok(()),
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
        Err(ClientError::Api { code, message, .. }) => bail!("{message} ({code})"),
        Err(e) => Err(e.into()),
    }
}

/// Turns `key=value` pairs into a JSON object; values that parse as JSON keep their type.
fn settings(pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut map = Map::new();
    for pair in pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| anyhow!("--set takes KEY=VALUE, not {pair:?}"))?;
        // A decimal such as `12.50` is an amount of money, which the API takes as text.
        let value = match serde_json::from_str(v) {
            Ok(Value::Number(n)) if n.is_f64() => Value::String(v.to_string()),
            Ok(value) => value,
            Err(_) => Value::String(v.to_string()),
        };
        map.insert(k.trim().to_string(), value);
    }
    Ok(map)
}

/// A named fee as `--fee` takes it: `COMMAND:AMOUNT:DESCRIPTION`.
fn named_fee(text: &str, refundable: bool) -> anyhow::Result<Value> {
    let mut parts = text.splitn(3, ':');
    let (Some(command), Some(amount), Some(description)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("a fee is COMMAND:AMOUNT:DESCRIPTION, not {text:?}");
    };
    Ok(json!({ "command": command, "amount": amount, "description": description, "refundable": refundable }))
}

fn path_name(text: &str) -> anyhow::Result<String> {
    Ok(DomainName::parse(text)?.to_string())
}

fn ds_values(list: &[String]) -> anyhow::Result<Vec<Value>> {
    list.iter().map(|d| Ok(serde_json::to_value(DsData::parse_presentation(d)?)?)).collect()
}

fn page_query(after: Option<String>, limit: Option<usize>) -> String {
    let mut q = Vec::new();
    if let Some(a) = after {
        q.push(format!("after={a}"));
    }
    if let Some(l) = limit {
        q.push(format!("limit={l}"));
    }
    if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) }
}

fn tld_request(cmd: TldCmd) -> anyhow::Result<ApiRequest> {
    Ok(match cmd {
        TldCmd::List => request(Method::GET, "/v1/tlds".into(), None),
        TldCmd::Phase(PhaseCmd::Add {
            tld,
            kind,
            name,
            starts,
            ends,
            create_price,
            daily_create_prices,
            claims,
            applications,
            label_lengths,
            fees,
            refundable_fees,
            settings: s,
        }) => {
            let mut body = settings(&s)?;
            let named = |list: &[String], refundable| list.iter().map(|f| named_fee(f, refundable)).collect::<anyhow::Result<Vec<_>>>();
            let mut all_fees = named(&fees, false)?;
            all_fees.extend(named(&refundable_fees, true)?);
            let fields = json!({ "kind": kind, "name": name, "starts": starts, "ends": ends, "create_price": create_price,
                "daily_create_prices": daily_create_prices, "claims": claims, "applications": applications, "label_lengths": label_lengths,
                "fees": all_fees });
            if let Value::Object(fields) = fields {
                body.extend(fields);
            }
            request(Method::POST, format!("/v1/tlds/{}/phases", path_name(&tld)?), Some(Value::Object(body)))
        }
        TldCmd::Idn(IdnCmd::Set { tld, lgr, id, policy, idn_only, url, url_policy }) => {
            let text = std::fs::read_to_string(&lgr).with_context(|| lgr.display().to_string())?;
            let body = json!({ "id": id, "lgr": text, "policy": policy, "idn_only": idn_only, "url": url, "url_policy": url_policy });
            request(Method::PUT, format!("/v1/tlds/{}/idn", path_name(&tld)?), Some(body))
        }
        TldCmd::Idn(IdnCmd::Show { tld }) => request(Method::GET, format!("/v1/tlds/{}/idn", path_name(&tld)?), None),
        TldCmd::Idn(IdnCmd::Remove { tld }) => request(Method::DELETE, format!("/v1/tlds/{}/idn", path_name(&tld)?), None),
        TldCmd::Phase(PhaseCmd::List { tld }) => request(Method::GET, format!("/v1/tlds/{}/phases", path_name(&tld)?), None),
        TldCmd::Phase(PhaseCmd::Remove { tld, starts }) => {
            request(Method::DELETE, format!("/v1/tlds/{}/phases/{starts}", path_name(&tld)?), None)
        }
        TldCmd::Gtld { name, gtld } => request(Method::PUT, format!("/v1/tlds/{}/gtld", path_name(&name)?), Some(json!({ "gtld": gtld }))),
        TldCmd::Show { name } => request(Method::GET, format!("/v1/tlds/{}", path_name(&name)?), None),
        TldCmd::Create { name, nameservers, settings: s } => {
            let mut body = settings(&s)?;
            body.insert("name".into(), json!(name));
            body.insert("nameservers".into(), json!(nameservers));
            request(Method::POST, "/v1/tlds".into(), Some(Value::Object(body)))
        }
        TldCmd::Update { name, nameservers, dnssec, settings: s } => {
            let mut body = settings(&s)?;
            if !nameservers.is_empty() {
                body.insert("nameservers".into(), json!(nameservers));
            }
            if let Some(mode) = dnssec {
                body.insert("dnssec".into(), json!(mode));
            }
            request(Method::PATCH, format!("/v1/tlds/{}", path_name(&name)?), Some(Value::Object(body)))
        }
    })
}

fn registrar_request(cmd: RegistrarCmd) -> anyhow::Result<ApiRequest> {
    Ok(match cmd {
        RegistrarCmd::List => request(Method::GET, "/v1/registrars".into(), None),
        RegistrarCmd::Show { id } => request(Method::GET, format!("/v1/registrars/{id}"), None),
        RegistrarCmd::Create { id, name, email, password, settings: s } => {
            let mut body = settings(&s)?;
            body.insert("id".into(), json!(id));
            body.insert("name".into(), json!(name));
            body.insert("email".into(), json!(email));
            if let Some(p) = password {
                body.insert("password".into(), json!(p));
            }
            request(Method::POST, "/v1/registrars".into(), Some(Value::Object(body)))
        }
        RegistrarCmd::Update { id, password, settings: s } => {
            let mut body = settings(&s)?;
            if let Some(p) = password {
                body.insert("password".into(), json!(p));
            }
            request(Method::PATCH, format!("/v1/registrars/{id}"), Some(Value::Object(body)))
        }
        RegistrarCmd::Fund { id, amount, currency } => {
            request(Method::POST, format!("/v1/registrars/{id}/funds"), Some(json!({ "amount": amount, "currency": currency })))
        }
        RegistrarCmd::Certificate { .. } => unreachable!("handled before the API call"),
        RegistrarCmd::Accredit { id, tld, currency } => {
            request(Method::POST, format!("/v1/registrars/{id}/accreditations"), Some(json!({ "tld": tld, "currency": currency })))
        }
        RegistrarCmd::Unaccredit { id, tld } => {
            request(Method::DELETE, format!("/v1/registrars/{id}/accreditations/{}", path_name(&tld)?), None)
        }
        RegistrarCmd::Accreditations { id } => request(Method::GET, format!("/v1/registrars/{id}/accreditations"), None),
        RegistrarCmd::IanaImport { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
            request(Method::PUT, "/v1/iana/registrars".into(), Some(json!({ "text": text })))
        }
        RegistrarCmd::Ledger { id, after, limit } => {
            let query: Vec<String> =
                [after.map(|a| format!("after={a}")), limit.map(|l| format!("limit={l}"))].into_iter().flatten().collect();
            request(Method::GET, format!("/v1/registrars/{id}/ledger?{}", query.join("&")), None)
        }
    })
}

fn issue_client_certificate(config: &Config, id: &str) -> anyhow::Result<()> {
    let client = client(config)?;
    let rt = runtime()?;
    let path = format!("/v1/registrars/{id}");
    // The registrar must exist before a certificate is made for it.
    let registrar = rt.block_on(client.call(Method::GET, &path, None)).map_err(|e| anyhow!("{e}"))?;
    let pki = crate::epp::tls::Pki { dir: config.tls_dir() };
    let fingerprint = pki.ensure_client(id)?;
    let mut pinned: Vec<Value> = registrar["cert_fingerprints"].as_array().cloned().unwrap_or_default();
    if !pinned.iter().any(|p| p == &json!(fingerprint)) {
        pinned.push(json!(fingerprint));
        rt.block_on(client.call(Method::PATCH, &path, Some(&json!({ "cert_fingerprints": pinned })))).map_err(|e| anyhow!("{e}"))?;
    }
    println!(
        "certificate {}\nkey         {}\nCA          {}\npinned      {fingerprint}",
        shown(&pki.client_cert(id)),
        shown(&pki.client_key(id)),
        shown(&pki.ca_cert())
    );
    Ok(())
}

fn domain_request(cmd: DomainCmd) -> anyhow::Result<ApiRequest> {
    Ok(match cmd {
        DomainCmd::List { tld, after, limit } => {
            request(Method::GET, format!("/v1/tlds/{}/domains{}", path_name(&tld)?, page_query(after, limit)), None)
        }
        DomainCmd::Show { name } => request(Method::GET, format!("/v1/domains/{}", path_name(&name)?), None),
        DomainCmd::Create { name, registrar, nameservers, ds, status, years } => request(
            Method::POST,
            "/v1/domains".into(),
            Some(
                json!({ "name": name, "registrar": registrar, "nameservers": nameservers, "ds": ds_values(&ds)?, "statuses": status, "period_years": years }),
            ),
        ),
        DomainCmd::Update { name, add_ns, remove_ns, add_ds, remove_ds, remove_all_ds, add_status, remove_status, registrar } => {
            let mut body = json!({
                "add_nameservers": add_ns, "remove_nameservers": remove_ns,
                "add_ds": ds_values(&add_ds)?, "remove_ds": ds_values(&remove_ds)?, "remove_all_ds": remove_all_ds,
                "add_statuses": add_status, "remove_statuses": remove_status,
            });
            if let Some(r) = registrar {
                body["registrar"] = json!(r);
            }
            request(Method::PATCH, format!("/v1/domains/{}", path_name(&name)?), Some(body))
        }
        DomainCmd::Delete { name } => request(Method::DELETE, format!("/v1/domains/{}", path_name(&name)?), None),
    })
}

fn host_request(cmd: HostCmd) -> anyhow::Result<ApiRequest> {
    Ok(match cmd {
        HostCmd::List { after, limit } => request(Method::GET, format!("/v1/hosts{}", page_query(after, limit)), None),
        HostCmd::Show { name } => request(Method::GET, format!("/v1/hosts/{}", path_name(&name)?), None),
        HostCmd::Create { name, registrar, addresses } => {
            request(Method::POST, "/v1/hosts".into(), Some(json!({ "name": name, "registrar": registrar, "addresses": addresses })))
        }
        HostCmd::Update { name, add_addr, remove_addr, rename, add_status, remove_status } => request(
            Method::PATCH,
            format!("/v1/hosts/{}", path_name(&name)?),
            Some(json!({ "add_addresses": add_addr, "remove_addresses": remove_addr, "new_name": rename,
                         "add_statuses": add_status, "remove_statuses": remove_status })),
        ),
        HostCmd::Delete { name } => request(Method::DELETE, format!("/v1/hosts/{}", path_name(&name)?), None),
    })
}

async fn status(config: &Config, as_json: bool) -> anyhow::Result<()> {
    let s = client(config)?.call(Method::GET, "/v1/status", None).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        let state = match (s["ready"].as_bool(), s["live"].as_bool()) {
            (Some(true), _) => "ready".to_string(),
            (_, Some(true)) => "live, not ready (starting or shutting down)".to_string(),
            _ => format!("not live: {}", s["reason"].as_str().unwrap_or("unknown")),
        };
        println!("domain-os {}: {state}", s["version"].as_str().unwrap_or("?"));
        let w = &s["writer"];
        println!("writer: {} queued, snapshot {:.1} s old", w["queue_depth"], w["snapshot_age_s"].as_f64().unwrap_or(0.0));
        let o = &s["objects"];
        println!(
            "store: {} bytes; {} registrars, {} contacts, {} domains, {} hosts",
            s["store_bytes"], o["registrars"], o["contacts"], o["domains"], o["hosts"]
        );
        for zone in s["zones"].as_array().into_iter().flatten() {
            match zone["earliest_signature_expiry"].as_str() {
                Some(expiry) => println!(
                    "zone {}: serial {}, signed, earliest signature expiry {expiry}",
                    zone["tld"].as_str().unwrap_or("?"),
                    zone["serial"]
                ),
                None => println!("zone {}: serial {}", zone["tld"].as_str().unwrap_or("?"), zone["serial"]),
            }
        }
    }
    if s["ready"].as_bool() != Some(true) {
        bail!("the daemon is not ready");
    }
    Ok(())
}

/// A backup through the running daemon, or from the store itself when none runs.
async fn backup(config: &Config, to: Option<PathBuf>) -> anyhow::Result<()> {
    // The daemon may run elsewhere in the file system's view (its own working folder).
    let to = to.map(std::path::absolute).transpose()?;
    let body = json!({ "to": to });
    let via_api = match client(config) {
        Ok(c) => {
            let bar = Progress::waiting("the daemon is copying the store");
            let answer = c.call(Method::POST, "/v1/backups", Some(&body)).await;
            bar.finish();
            answer
        }
        Err(_) => Err(ClientError::Unreachable(String::new())),
    };
    let report = match via_api {
        Ok(v) => v,
        Err(ClientError::Unreachable(_)) => {
            let snapshot = ReadOnlyStore::open(&config.db_path())?.snapshot()?;
            let to = to.unwrap_or_else(|| crate::ops::backup::time_named(&config.data_dir.join(&config.backup.folder), SystemClock.now()));
            let started = std::time::Instant::now();
            let bar = Progress::new("copying", None);
            let keys = crate::registry::keys::Keys::open(config)?.export(&snapshot)?;
            let summary = crate::store::backup::backup(&snapshot, &keys, &to, &mut |table, rows| bar.set_table(table, rows))?;
            bar.finish();
            serde_json::to_value(BackupReport::new(to, summary, started.elapsed()))?
        }
        Err(ClientError::Api { code, message, .. }) => bail!("{message} ({code})"),
        Err(e) => return Err(e.into()),
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// A page of a TLD's `what` (reserved or premium names).
fn name_page(tld: &str, what: &str, after: Option<String>, limit: Option<usize>) -> anyhow::Result<ApiRequest> {
    let mut query = Vec::new();
    if let Some(a) = after {
        query.push(format!("after={}", path_name(&a)?));
    }
    if let Some(l) = limit {
        query.push(format!("limit={l}"));
    }
    Ok(request(Method::GET, format!("/v1/tlds/{}/{what}?{}", path_name(tld)?, query.join("&")), None))
}

fn reserve_request(tld: &str, names: &[&str], how: &Reservation) -> anyhow::Result<ApiRequest> {
    let body = json!({ "names": names, "state": how.state, "reason": how.reason, "list": how.list });
    Ok(request(Method::POST, format!("/v1/tlds/{}/reserved", path_name(tld)?), Some(body)))
}

/// Writes a monthly report (from the running daemon, or the stopped store)
/// and checks it; or checks a file.
fn report(config: &Config, kind: crate::report::ReportKind, args: ReportArgs) -> anyhow::Result<()> {
    if let Some(file) = args.check {
        let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
        let problems = crate::report::check(kind, &text);
        if !problems.is_empty() {
            bail!("{} is not a valid {} report:\n  {}", file.display(), kind.as_str(), problems.join("\n  "));
        }
        println!("{}: a valid {} report", file.display(), kind.as_str());
        return Ok(());
    }
    let (Some(tld), Some(month_text)) = (args.tld, args.month) else { bail!("a TLD and a month (YYYY-MM) are needed") };
    let tld = DomainName::parse(&tld)?;
    let month = crate::model::report::Month::parse(&month_text).ok_or_else(|| anyhow!("{month_text:?} is not a month (YYYY-MM)"))?;
    let via_api = match client(config) {
        Ok(c) => runtime()?.block_on(c.call(Method::GET, &format!("/v1/tlds/{tld}/reports/{month}"), None)),
        Err(_) => Err(ClientError::Unreachable(String::new())),
    };
    let report = match via_api {
        Ok(v) => serde_json::from_value::<crate::report::ReportFile>(v[kind.as_str()].clone())?,
        Err(ClientError::Unreachable(_)) => {
            // The daemon is not running: read the store ourselves, without changing it.
            let snapshot = ReadOnlyStore::open(&config.db_path())?.snapshot()?;
            crate::report::make(kind, &snapshot, &tld, month, &config.reports.settings(), SystemClock.now())?
        }
        Err(ClientError::Api { code, message, .. }) => bail!("{message} ({code})"),
        Err(e) => return Err(e.into()),
    };
    let problems = crate::report::check(kind, &report.csv);
    if !problems.is_empty() {
        bail!("the {} report does not pass its own check:\n  {}", kind.as_str(), problems.join("\n  "));
    }
    let path = args.out.join(&report.file_name);
    std::fs::write(&path, &report.csv).with_context(|| path.display().to_string())?;
    println!("{}", path.display());
    Ok(())
}

async fn zone_export(config: &Config, tld: &str, format: Format) -> anyhow::Result<()> {
    let tld = DomainName::parse(tld)?;
    let format_text = serde_json::to_value(format)?;
    let path = format!("/v1/tlds/{tld}/export?format={}", format_text.as_str().unwrap_or("bind"));
    let via_api = match client(config) {
        Ok(c) => {
            let bar = Progress::waiting("the daemon is writing the zone file");
            let answer = c.call(Method::POST, &path, None).await;
            bar.finish();
            answer
        }
        Err(_) => Err(ClientError::Unreachable(String::new())),
    };
    let summary = match via_api {
        Ok(v) => v,
        Err(ClientError::Unreachable(_)) => {
            // The daemon is not running: read the store ourselves, without changing it.
            let snapshot = ReadOnlyStore::open(&config.db_path())?.snapshot()?;
            let bar = Progress::new("writing records", None);
            let summary = zonefile::export(&snapshot, &tld, format, &config.zones_dir, &mut |records| bar.set(records));
            bar.finish();
            serde_json::to_value(summary?)?
        }
        Err(ClientError::Api { code, message, .. }) => bail!("{message} ({code})"),
        Err(e) => return Err(e.into()),
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

fn import_zone(config: &Config, file: &PathBuf, tld: &str, registrar: &str, period_years: u32, apex_from_file: bool) -> anyhow::Result<()> {
    let tld = DomainName::parse(tld)?;
    let registrar = ClientId::parse(registrar)?;
    let store = match daemon::open_store(config, Upgrade::Refused) {
        Ok(s) => s,
        Err(StoreError::Locked) => {
            return import_via_api(config, file, &tld, &registrar, period_years, apex_from_file);
        }
        Err(e) => return Err(e.into()),
    };
    let started = std::time::Instant::now();
    eprintln!("reading {}", file.display());
    let reader =
        std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?);
    let parsed = match zonefile::parse_for_import(&tld, reader) {
        Ok(p) => p,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}:{e}", file.display());
            }
            bail!("{} problem(s) in {}; nothing was imported", errors.len(), file.display());
        }
    };
    eprintln!(
        "parsed {} delegations, {} glue hosts in {:.1}s ({} DNSSEC records and {} unused address records skipped)",
        parsed.delegations.len(),
        parsed.glue.len(),
        started.elapsed().as_secs_f64(),
        parsed.facts.dnssec_records,
        parsed.facts.unused_address_records
    );
    let total = parsed.delegations.len();
    run_import(config, store, total, started, |progress| {
        Command::Import(Box::new(ZoneImport {
            progress: Some(progress),
            ..parsed.into_import(tld, registrar, period_years, apex_from_file)
        }))
    })
}

/// Runs one bulk import on the stopped store, with a progress bar over its
/// `total` domains, and prints what it wrote.
fn run_import(
    config: &Config,
    store: crate::store::Store,
    total: usize,
    started: std::time::Instant,
    command: impl FnOnce(crate::registry::import_data::Progress) -> Command,
) -> anyhow::Result<()> {
    let (registry, writer) = Registry::start(store, Arc::new(SystemClock), daemon::writer_settings(config)?)?;
    let bar = Arc::new(Progress::new("writing domains", Some(total as u64)));
    let progress: crate::registry::import_data::Progress = {
        let bar = bar.clone();
        Arc::new(move |done, _| bar.set(done as u64))
    };
    let outcome = registry.execute_blocking(command(progress));
    drop(registry);
    writer.join();
    bar.finish();
    let summary = match outcome? {
        Outcome::Imported(summary) => serde_json::to_value(summary)?,
        Outcome::DepositImported(summary) => serde_json::to_value(summary)?,
        other => bail!("unexpected outcome {other:?}"),
    };
    eprintln!("imported in {:.1}s", started.elapsed().as_secs_f64());
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// Hands an import to the running daemon's operator API at `path`;
/// `problems` prints what a refusal lists.
fn upload_import(config: &Config, path: &str, body: Vec<u8>, waiting: &'static str, problems: impl Fn(&Value)) -> anyhow::Result<()> {
    let bar = Progress::waiting(waiting);
    let answer = runtime()?.block_on(client(config)?.upload(path, body));
    bar.finish();
    match answer {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
        Err(ClientError::Api { body, message, .. }) => {
            problems(&body["error"]);
            bail!("{message}")
        }
        Err(e) => Err(e.into()),
    }
}

fn import_deposit(
    config: &Config,
    file: &std::path::Path,
    decrypt_key: Option<&std::path::Path>,
    signer_cert: Option<&std::path::Path>,
    nameservers: &[String],
) -> anyhow::Result<()> {
    use crate::escrow::import::{self, ImportError};
    let ns = nameservers.iter().map(|n| DomainName::parse(n)).collect::<Result<Vec<_>, _>>()?;
    let store = match daemon::open_store(config, Upgrade::Refused) {
        Ok(s) => s,
        Err(StoreError::Locked) => {
            eprintln!("the daemon is running; handing {} to the operator API", file.display());
            let body = import::with_xml(file, decrypt_key, signer_cert, |xml| {
                let mut body = Vec::new();
                xml.read_to_end(&mut body).map(|_| body)
            })??;
            let path = format!("/v1/escrow/import?ns={}", nameservers.join(","));
            return upload_import(config, &path, body, "the daemon is importing the deposit", |error| {
                for p in error["problems"].as_array().into_iter().flatten() {
                    eprintln!("{}: {}", file.display(), p.as_str().unwrap_or(""));
                }
            });
        }
        Err(e) => return Err(e.into()),
    };
    let started = std::time::Instant::now();
    eprintln!("reading {}", file.display());
    let parsed = match import::read_file(file, decrypt_key, signer_cert) {
        Ok(p) => p,
        Err(ImportError::Objects(problems)) => {
            for p in &problems.problems {
                eprintln!("{}: {p}", file.display());
            }
            bail!("{} problem(s) in {}; nothing was imported", problems.total, file.display());
        }
        Err(e) => bail!("{}: {e}", file.display()),
    };
    eprintln!(
        "read {} registrars, {} contacts, {} hosts and {} domains in {:.1}s",
        parsed.registrars.len(),
        parsed.contacts.len(),
        parsed.hosts.len(),
        parsed.domains.len(),
        started.elapsed().as_secs_f64()
    );
    let total = parsed.domains.len();
    run_import(config, store, total, started, |progress| {
        Command::ImportDeposit(Box::new(crate::registry::import_data::DepositImport {
            nameservers: ns,
            progress: Some(progress),
            ..parsed
        }))
    })
}

fn import_via_api(
    config: &Config,
    file: &PathBuf,
    tld: &DomainName,
    registrar: &ClientId,
    period_years: u32,
    apex_from_file: bool,
) -> anyhow::Result<()> {
    eprintln!("the daemon is running; uploading {} to the operator API", file.display());
    let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let path = format!("/v1/tlds/{tld}/import?registrar={registrar}&period_years={period_years}&apex_from_file={apex_from_file}");
    upload_import(config, &path, body, "the daemon is importing the zone", |error| {
        for l in error["lines"].as_array().into_iter().flatten() {
            eprintln!("{}:line {}: {}", file.display(), l["line"], l["message"].as_str().unwrap_or(""));
        }
    })
}

/// Progress of a long job: a bar (or, without a total, a spinner) on a
/// terminal; otherwise a plain line at most every few seconds, for logs.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    what: &'static str,
    total: Option<u64>,
    last_line: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Progress {
    const LINE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

    fn new(what: &'static str, total: Option<u64>) -> Progress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let (bar, template) = match total {
                Some(n) => (indicatif::ProgressBar::new(n), "{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)"),
                None => (indicatif::ProgressBar::new_spinner(), "{spinner} {msg}: {pos} ({per_sec})"),
            };
            bar.set_style(indicatif::ProgressStyle::with_template(template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
            bar.set_message(what);
            bar
        });
        Progress { bar, what, total, last_line: Default::default() }
    }

    /// A job the daemon runs while the command waits for its answer: a
    /// spinner with the time taken on a terminal, otherwise one line.
    fn waiting(what: &'static str) -> Progress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message(what);
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        if bar.is_none() {
            eprintln!("{what}");
        }
        Progress { bar, what, total: None, last_line: Default::default() }
    }

    fn set(&self, done: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => match self.total {
                Some(total) => self.line(done == total, || format!("{}: {done}/{total}", self.what)),
                None => self.line(false, || format!("{}: {done}", self.what)),
            },
        }
    }

    /// Rows copied so far of one table.
    fn set_table(&self, table: &str, rows: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{} {table}", self.what));
                bar.set_position(rows);
            }
            None => self.line(false, || format!("{} {table}: {rows} rows", self.what)),
        }
    }

    /// A plain line, unless one went out less than an interval ago (and this is not the last).
    fn line(&self, last_one: bool, text: impl FnOnce() -> String) {
        let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
        if last_one || last.is_none_or(|t| t.elapsed() >= Self::LINE_INTERVAL) {
            eprintln!("{}", text());
            *last = Some(std::time::Instant::now());
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
