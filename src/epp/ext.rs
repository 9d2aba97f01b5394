//! The extensions domain commands carry: secDNS-1.1 (RFC 5910, the dsData
//! interface), rgp-1.0 (RFC 3915), fee-1.0 (RFC 8748) and launch-1.0
//! (RFC 8334: phases, signed marks, claims notices) — parsing what clients
//! send and writing what we answer.

use super::render::fragment;
use super::result::{EppError, code};
use super::xml::{self, Element, Ns};
use crate::model::lifecycle::Money;
use crate::model::{DsData, Timestamp};
use crate::registry::command::{FeeAgreement, Restore};
use crate::registry::query::{Availability, DomainCheck};

/// Extensions present on a command, by namespace.
pub fn find<'a>(extension: Option<&'a Element>, ns: &Ns, name: &str) -> Option<&'a Element> {
    extension.and_then(|e| e.child(ns, name))
}

/// Refuses extension elements this command does not use (RFC 5730: 2103 when unsupported).
pub fn only(extension: Option<&Element>, allowed: &[(Ns, &str)]) -> Result<(), EppError> {
    for e in extension.map(|e| e.children.as_slice()).unwrap_or_default() {
        if !allowed.iter().any(|(ns, name)| e.is(ns, name)) {
            return Err(EppError::new(
                code::UNIMPLEMENTED_EXTENSION,
                format!("{} {} is not supported with this command", e.ns.uri(), e.name),
            ));
        }
    }
    Ok(())
}

fn number<T: std::str::FromStr>(e: &Element, name: &str) -> Result<T, EppError> {
    let child = e.child(&Ns::SecDns, name).ok_or_else(|| EppError::syntax(format!("secDNS {name} is missing")))?;
    child.trimmed().parse().map_err(|_| EppError::syntax(format!("secDNS {name} {:?} is out of range", child.trimmed())))
}

/// One `<secDNS:dsData>`; its optional keyData is not kept.
fn ds_data(e: &Element) -> Result<DsData, EppError> {
    let digest_text = e.child(&Ns::SecDns, "digest").ok_or_else(|| EppError::syntax("secDNS digest is missing"))?.trimmed();
    let digest = crate::model::objects::hex_bytes::decode(digest_text)
        .ok_or_else(|| EppError::new(code::VALUE_SYNTAX, "the DS digest is not hexadecimal"))?;
    let ds = DsData { key_tag: number(e, "keyTag")?, algorithm: number(e, "alg")?, digest_type: number(e, "digestType")?, digest };
    ds.validate().map_err(|err| EppError::new(code::POLICY, err.to_string()))?;
    Ok(ds)
}

fn ds_list(parent: &Element) -> Result<Vec<DsData>, EppError> {
    if parent.child(&Ns::SecDns, "keyData").is_some() {
        return Err(EppError::new(code::POLICY, "this registry takes DS records (the dsData interface), not keyData"));
    }
    if parent.child(&Ns::SecDns, "maxSigLife").is_some() {
        return Err(EppError::new(code::UNIMPLEMENTED_OPTION, "maxSigLife is not supported"));
    }
    parent.children_named(&Ns::SecDns, "dsData").map(ds_data).collect()
}

/// `<secDNS:create>`: the DS records of a new domain.
pub fn secdns_create(extension: Option<&Element>) -> Result<Vec<DsData>, EppError> {
    find(extension, &Ns::SecDns, "create").map(ds_list).transpose().map(Option::unwrap_or_default)
}

/// What a `<secDNS:update>` asks for.
#[derive(Debug)]
pub struct SecDnsUpdate {
    pub remove_all: bool,
    pub remove: Vec<DsData>,
    pub add: Vec<DsData>,
}

pub fn secdns_update(extension: Option<&Element>) -> Result<Option<SecDnsUpdate>, EppError> {
    let Some(update) = find(extension, &Ns::SecDns, "update") else { return Ok(None) };
    if update.attr("urgent").is_some_and(|u| u == "true" || u == "1") {
        return Err(EppError::new(code::UNIMPLEMENTED_OPTION, "urgent updates are not supported"));
    }
    if update.child(&Ns::SecDns, "chg").is_some() {
        return Err(EppError::new(code::UNIMPLEMENTED_OPTION, "maxSigLife is not supported"));
    }
    let (mut all, mut remove) = (false, Vec::new());
    if let Some(rem) = update.child(&Ns::SecDns, "rem") {
        if let Some(a) = rem.child(&Ns::SecDns, "all") {
            all = matches!(a.trimmed(), "true" | "1");
        }
        remove = ds_list(rem)?;
    }
    let add = update.child(&Ns::SecDns, "add").map(ds_list).transpose()?.unwrap_or_default();
    Ok(Some(SecDnsUpdate { remove_all: all, remove, add }))
}

pub fn secdns_info(ds: &[DsData]) -> Option<String> {
    if ds.is_empty() {
        return None;
    }
    let mut w = fragment();
    w.open("secDNS:infData", &[("xmlns:secDNS", xml::SECDNS)]);
    for d in ds {
        w.open("secDNS:dsData", &[]);
        w.leaf("secDNS:keyTag", &[], &d.key_tag.to_string());
        w.leaf("secDNS:alg", &[], &d.algorithm.to_string());
        w.leaf("secDNS:digestType", &[], &d.digest_type.to_string());
        w.leaf("secDNS:digest", &[], &crate::model::objects::hex_bytes::encode_upper(&d.digest));
        w.close();
    }
    Some(w.finish())
}

/// `<rgp:update><rgp:restore op="…">`.
pub fn rgp_restore(extension: Option<&Element>) -> Result<Option<Restore>, EppError> {
    let Some(restore) = find(extension, &Ns::Rgp, "update").and_then(|u| u.child(&Ns::Rgp, "restore")) else { return Ok(None) };
    match restore.attr("op") {
        Some("request") => Ok(Some(Restore::Request)),
        Some("report") => {
            let report = restore.child(&Ns::Rgp, "report").ok_or_else(|| EppError::syntax("a restore report needs <rgp:report>"))?;
            for field in ["preData", "postData", "delTime", "resTime", "resReason"] {
                if report.child(&Ns::Rgp, field).is_none_or(|e| e.trimmed().is_empty()) {
                    return Err(EppError::syntax(format!("rgp:{field} is missing")));
                }
            }
            for time in ["delTime", "resTime"] {
                let t = report.child(&Ns::Rgp, time).map(Element::trimmed).unwrap_or_default();
                Timestamp::parse_rfc3339(t).map_err(|_| EppError::syntax(format!("rgp:{time} is not a date-time")))?;
            }
            let statements = report.children_named(&Ns::Rgp, "statement").count();
            if !(1..=2).contains(&statements) {
                return Err(EppError::syntax("a restore report has one or two statements"));
            }
            let reason = report.child(&Ns::Rgp, "resReason").map(|e| e.trimmed().to_string()).unwrap_or_default();
            Ok(Some(Restore::Report { reason }))
        }
        _ => Err(EppError::syntax("rgp:restore op must be request or report")),
    }
}

pub fn rgp_info(statuses: &[&str], element: &'static str) -> Option<String> {
    if statuses.is_empty() {
        return None;
    }
    let mut w = fragment();
    w.open(element, &[("xmlns:rgp", xml::RGP)]);
    for s in statuses {
        w.empty("rgp:rgpStatus", &[("s", s)]);
    }
    Some(w.finish())
}

/// The fee a transform command agreed to (`<fee:create>`, `renew`, `transfer`, `update`).
pub fn fee_agreement(extension: Option<&Element>, element: &str) -> Result<Option<FeeAgreement>, EppError> {
    let Some(fee) = find(extension, &Ns::Fee, element) else { return Ok(None) };
    let currency = fee.child(&Ns::Fee, "currency").map(|c| c.trimmed().to_string());
    let mut total = Money(0);
    let mut any = false;
    for f in fee.children_named(&Ns::Fee, "fee") {
        let amount = Money::parse(f.trimmed()).map_err(|_| EppError::syntax(format!("fee {:?} is not an amount", f.trimmed())))?;
        if amount.0 < 0 {
            return Err(EppError::syntax("fees are not negative"));
        }
        total = total + amount;
        any = true;
    }
    if !any {
        return Err(EppError::syntax(format!("fee:{element} needs a fee")));
    }
    Ok(Some(FeeAgreement { currency, amount: total }))
}

/// `<fee:creData>` and friends: what was charged, credited, and the balance left.
pub fn fee_result(element: &'static str, currency: &str, years: Option<u32>, fee: Money, credit: Money, balance: Option<Money>) -> String {
    let mut w = fragment();
    w.open(element, &[("xmlns:fee", xml::FEE)]);
    w.leaf("fee:currency", &[], currency);
    if let Some(y) = years {
        w.leaf("fee:period", &[("unit", "y")], &y.to_string());
    }
    if fee.0 > 0 {
        w.leaf("fee:fee", &[], &fee.to_string());
    }
    if credit.0 > 0 {
        w.leaf("fee:credit", &[], &Money(-credit.0).to_string());
    }
    if let Some(b) = balance {
        w.leaf("fee:balance", &[], &b.to_string());
    }
    w.finish()
}

/// What a `<fee:check>` asks about.
#[derive(Debug)]
pub struct FeeCheck {
    pub currency: Option<String>,
    /// `(command, years)` pairs.
    pub commands: Vec<(String, u32)>,
}

pub fn fee_check(extension: Option<&Element>) -> Result<Option<FeeCheck>, EppError> {
    let Some(check) = find(extension, &Ns::Fee, "check") else { return Ok(None) };
    let currency = check.child(&Ns::Fee, "currency").map(|c| c.trimmed().to_string());
    let mut commands = Vec::new();
    for c in check.children_named(&Ns::Fee, "command") {
        let name = c.attr("name").ok_or_else(|| EppError::syntax("fee:command needs a name"))?.to_string();
        let years = match c.child(&Ns::Fee, "period") {
            Some(p) => super::mapping::period(p)?,
            None => 1,
        };
        commands.push((name, years));
    }
    if commands.is_empty() {
        return Err(EppError::syntax("fee:check needs a command"));
    }
    Ok(Some(FeeCheck { currency, commands }))
}

/// One `<fee:cd>` of a check response, priced as the writer will charge:
/// the price, then each named fee of the running phase with its
/// description, the sum being what a create, renew or restore agrees to.
pub fn fee_cd(w: &mut super::xml::Writer, name: &str, check: &DomainCheck<'_>, commands: &[(String, u32)], now: Timestamp, currency: &str) {
    let Some(tld) = check.tld else {
        w.open("fee:cd", &[("avail", "0")]).leaf("fee:objID", &[], name);
        w.leaf("fee:reason", &[], "not served by this registry").close();
        return;
    };
    if tld.registration.rate_to(currency).is_none() {
        w.open("fee:cd", &[("avail", "0")]).leaf("fee:objID", &[], name);
        w.leaf("fee:reason", &[], &format!("not priced in {currency}")).close();
        return;
    }
    let available = check.availability == Availability::Available;
    w.open("fee:cd", &[("avail", if available { "1" } else { "0" })]);
    w.leaf("fee:objID", &[], name);
    let class = check.premium.as_ref().map_or("standard", |p| p.class.as_str());
    w.leaf("fee:class", &[], class);
    let special = check.premium.is_some() || check.create_override.is_some();
    for (command, years) in commands {
        let price = check.price(command, *years, now, currency);
        let standard = if special || price.as_ref().is_some_and(|p| !p.fees.is_empty()) { "0" } else { "1" };
        w.open("fee:command", &[("name", command), ("standard", standard)]);
        match price {
            Some(price) => {
                if price.years > 0 {
                    w.leaf("fee:period", &[("unit", "y")], &price.years.to_string());
                }
                let days = format!("P{}D", price.grace_s / 86_400);
                let refundable = |yes: bool| {
                    let mut attrs = vec![("refundable", if yes && price.grace_s > 0 { "1" } else { "0" })];
                    if yes && price.grace_s > 0 {
                        attrs.push(("grace-period", days.as_str()));
                    }
                    attrs
                };
                w.leaf("fee:fee", &refundable(true), &price.amount.to_string());
                for fee in &price.fees {
                    let mut attrs = refundable(fee.refundable);
                    attrs.insert(0, ("description", fee.description.as_str()));
                    w.leaf("fee:fee", &attrs, &fee.amount.to_string());
                }
            }
            None => {
                w.leaf("fee:reason", &[], "no such fee");
            }
        }
        w.close();
    }
    w.close();
}

/// RFC 8495 `<allocationToken:allocationToken>`, the token a check or a create carries.
pub fn allocation_token(extension: Option<&Element>) -> Result<Option<String>, EppError> {
    let Some(token) = find(extension, &Ns::AllocationToken, "allocationToken") else { return Ok(None) };
    let text = token.trimmed();
    crate::model::token::check_token(text).map_err(|e| EppError::new(code::POLICY, e))?;
    Ok(Some(text.to_string()))
}

/// What RFC 8334 `<launch:create>` carries: the phase the create names,
/// which the registry holds against the TLD's timeline; a signed mark
/// (`smd:encodedSignedMark`) for sunrise; a claims notice for a create under
/// trademark claims; `type="application"` for an application in a phase
/// that collects them. Code marks are not taken.
#[derive(Debug, Default)]
pub struct LaunchCreate {
    pub phase: Option<crate::registry::command::LaunchPhase>,
    pub signed_mark: Option<Vec<u8>>,
    pub notice: Option<crate::model::tmch::ClaimsNotice>,
    pub application: bool,
}

pub fn launch_create(extension: Option<&Element>) -> Result<LaunchCreate, EppError> {
    let Some(create) = find(extension, &Ns::Launch, "create") else { return Ok(LaunchCreate::default()) };
    let application = match create.attr("type") {
        None | Some("registration") => false,
        Some("application") => true,
        Some(other) => return Err(EppError::syntax(format!("launch:create type {other:?} is not registration or application"))),
    };
    let phase = create.child(&Ns::Launch, "phase").ok_or_else(|| EppError::syntax("launch:create names no launch:phase"))?;
    let smd = Ns::Other(crate::tmch::SIGNED_MARK.into());
    let mut out = LaunchCreate { phase: Some(launch_phase(phase)), application, ..LaunchCreate::default() };
    for e in create.children.iter().filter(|c| !c.is(&Ns::Launch, "phase")) {
        if e.is(&smd, "encodedSignedMark") {
            if out.signed_mark.is_some() {
                return Err(EppError::new(code::POLICY, "a create carries one signed mark"));
            }
            if e.attr("encoding").is_some_and(|enc| enc != "base64") {
                return Err(EppError::new(code::VALUE_SYNTAX, "a signed mark is encoded in base64"));
            }
            out.signed_mark = Some(crate::tmch::decode_encoded(&e.text).map_err(|err| EppError::new(code::VALUE_SYNTAX, err))?);
        } else if e.is(&smd, "signedMark") || e.is(&Ns::Launch, "codeMark") {
            return Err(EppError::new(code::UNIMPLEMENTED_OPTION, "signed marks are taken as smd:encodedSignedMark"));
        } else if e.is(&Ns::Launch, "notice") {
            if out.notice.is_some() {
                return Err(EppError::new(code::POLICY, "a create carries one claims notice"));
            }
            out.notice = Some(claims_notice(e)?);
        } else {
            return Err(EppError::syntax(format!("<{}> does not belong in launch:create", e.name)));
        }
    }
    Ok(out)
}

fn claims_notice(notice: &Element) -> Result<crate::model::tmch::ClaimsNotice, EppError> {
    let child = |name: &str| notice.child(&Ns::Launch, name).ok_or_else(|| EppError::syntax(format!("launch:notice has no launch:{name}")));
    let time = |name: &str| -> Result<crate::model::Timestamp, EppError> {
        let text = child(name)?.trimmed();
        crate::model::Timestamp::parse_rfc3339(text)
            .map_err(|_| EppError::new(code::VALUE_SYNTAX, format!("launch:{name} {text:?} is not a time")))
    };
    let id = child("noticeID")?;
    Ok(crate::model::tmch::ClaimsNotice {
        notice_id: id.trimmed().to_string(),
        validator: id.attr("validatorID").unwrap_or("tmch").to_string(),
        not_after: time("notAfter")?,
        accepted: time("acceptedDate")?,
    })
}

fn launch_phase(phase: &Element) -> crate::registry::command::LaunchPhase {
    crate::registry::command::LaunchPhase { phase: phase.trimmed().to_string(), name: phase.attr("name").map(str::to_string) }
}

/// RFC 8334 `<launch:info>`, `<launch:update>` and `<launch:delete>`: the
/// phase asked about, and the application, if one is named.
#[derive(Debug)]
pub struct LaunchId {
    pub phase: crate::registry::command::LaunchPhase,
    pub application: Option<String>,
}

pub fn launch_id(extension: Option<&Element>, element: &str) -> Result<Option<LaunchId>, EppError> {
    let Some(e) = find(extension, &Ns::Launch, element) else { return Ok(None) };
    let phase = e.child(&Ns::Launch, "phase").ok_or_else(|| EppError::syntax(format!("launch:{element} names no launch:phase")))?;
    let application = e.child(&Ns::Launch, "applicationID").map(|a| a.trimmed().to_string());
    if element != "info" && application.is_none() {
        return Err(EppError::syntax(format!("launch:{element} names no launch:applicationID")));
    }
    Ok(Some(LaunchId { phase: launch_phase(phase), application }))
}

/// `<launch:infData>` (or `creData`) of an application: its phase, id and (not in `creData`) status.
pub fn application_data(a: &crate::model::application::Application, element: &'static str) -> String {
    let mut w = fragment();
    w.open(element, &[("xmlns:launch", xml::LAUNCH)]);
    let name = a.phase_name.as_deref().map(|n| vec![("name", n)]).unwrap_or_default();
    w.leaf("launch:phase", &name, a.phase.as_str()).leaf("launch:applicationID", &[], &a.id);
    if element == "launch:infData" {
        w.empty("launch:status", &[("s", a.status.as_str())]);
    }
    w.finish()
}

/// RFC 8334 `<launch:check>`: true for the claims check form (the
/// default), false for the availability form, which is an ordinary check.
pub fn launch_claims_check(extension: Option<&Element>) -> Result<bool, EppError> {
    let Some(check) = find(extension, &Ns::Launch, "check") else { return Ok(false) };
    let claims = match check.attr("type").unwrap_or("claims") {
        "claims" => true,
        "avail" => false,
        other => return Err(EppError::syntax(format!("launch:check type {other:?} is not claims or avail"))),
    };
    let phase = check.child(&Ns::Launch, "phase").map(Element::trimmed);
    if claims && phase != Some("claims") {
        return Err(EppError::new(code::POLICY, "the claims check form names the claims phase"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epp::xml::{Limits, parse};

    fn ext(body: &str) -> Element {
        let doc = format!(
            r#"<extension xmlns="urn:ietf:params:xml:ns:epp-1.0" xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1" xmlns:fee="urn:ietf:params:xml:ns:epp:fee-1.0" xmlns:rgp="urn:ietf:params:xml:ns:rgp-1.0">{body}</extension>"#
        );
        parse(doc.as_bytes(), Limits { depth_max: 16, elements_max: 100, text_bytes_max: 10_000 }).unwrap()
    }

    #[test]
    fn secdns_values_are_checked() {
        let good = ext(
            "<secDNS:create><secDNS:dsData><secDNS:keyTag>12345</secDNS:keyTag><secDNS:alg>13</secDNS:alg><secDNS:digestType>2</secDNS:digestType><secDNS:digest>F8CD62C4EBE7C0684FEE9D41BBA4C2CA210C7F7ECE77AC3454F248079805F372</secDNS:digest></secDNS:dsData></secDNS:create>",
        );
        assert_eq!(secdns_create(Some(&good)).unwrap().len(), 1);
        let bad_alg = ext(
            "<secDNS:create><secDNS:dsData><secDNS:keyTag>1</secDNS:keyTag><secDNS:alg>99</secDNS:alg><secDNS:digestType>2</secDNS:digestType><secDNS:digest>00</secDNS:digest></secDNS:dsData></secDNS:create>",
        );
        assert_eq!(secdns_create(Some(&bad_alg)).unwrap_err().code, code::POLICY);
        let bad_tag = ext(
            "<secDNS:create><secDNS:dsData><secDNS:keyTag>70000</secDNS:keyTag><secDNS:alg>13</secDNS:alg><secDNS:digestType>2</secDNS:digestType><secDNS:digest>00</secDNS:digest></secDNS:dsData></secDNS:create>",
        );
        assert_eq!(secdns_create(Some(&bad_tag)).unwrap_err().code, code::SYNTAX);
        let bad_hex = ext(
            "<secDNS:create><secDNS:dsData><secDNS:keyTag>1</secDNS:keyTag><secDNS:alg>13</secDNS:alg><secDNS:digestType>2</secDNS:digestType><secDNS:digest>XYZ</secDNS:digest></secDNS:dsData></secDNS:create>",
        );
        assert_eq!(secdns_create(Some(&bad_hex)).unwrap_err().code, code::VALUE_SYNTAX);
        let urgent = ext(r#"<secDNS:update urgent="true"><secDNS:rem><secDNS:all>true</secDNS:all></secDNS:rem></secDNS:update>"#);
        assert_eq!(secdns_update(Some(&urgent)).unwrap_err().code, code::UNIMPLEMENTED_OPTION);
        let max_sig = ext("<secDNS:create><secDNS:maxSigLife>604800</secDNS:maxSigLife></secDNS:create>");
        assert_eq!(secdns_create(Some(&max_sig)).unwrap_err().code, code::UNIMPLEMENTED_OPTION);
    }

    #[test]
    fn fees_are_summed_and_checked() {
        let f = ext("<fee:create><fee:currency>USD</fee:currency><fee:fee>5.00</fee:fee><fee:fee>5</fee:fee></fee:create>");
        assert_eq!(fee_agreement(Some(&f), "create").unwrap(), Some(FeeAgreement { currency: Some("USD".into()), amount: Money(1000) }));
        let bad = ext("<fee:create><fee:fee>lots</fee:fee></fee:create>");
        assert_eq!(fee_agreement(Some(&bad), "create").unwrap_err().code, code::SYNTAX);
        assert_eq!(fee_agreement(Some(&f), "renew").unwrap(), None);
    }
}
