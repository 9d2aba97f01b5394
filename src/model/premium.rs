//! Premium names: names of a TLD priced apart from its standard prices, in
//! a class (fee-1.0 `fee:class`, `premium` or the operator's tiers) with
//! their own yearly create, renew and transfer prices in the TLD's
//! currency. The quote a check gives and the charge a command makes come
//! from the one price function (`RegistrationPolicy::price`), so they never
//! differ; a registrar must acknowledge a premium fee (fee-1.0) to pay it.

use super::DomainName;
use super::lifecycle::{Money, PremiumPrices};
use super::reserved::name_under;

/// The longest class name.
pub const CLASS_CHARS_MAX: usize = 32;

/// A premium name and its prices.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PremiumName {
    pub name: DomainName,
    pub tld: DomainName,
    pub class: String,
    #[serde(flatten)]
    pub prices: PremiumPrices,
}

/// Checks a class name: 1 to 32 of a-z, 0-9 and -, and not `standard`.
pub fn check_class(class: &str) -> Result<(), String> {
    let ok =
        (1..=CLASS_CHARS_MAX).contains(&class.len()) && class.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok || class == "standard" {
        return Err(format!("a premium class is 1 to {CLASS_CHARS_MAX} of a-z, 0-9 and -, other than \"standard\""));
    }
    Ok(())
}

/// A premium list for `tld`: CSV lines `label,class,create,renew[,transfer]`
/// (a label or a name; amounts like `120.00`; transfer defaults to renew),
/// an optional header line starting `name` or `label`, `#` comments. Every
/// bad line is a problem, by line.
pub fn parse_list(text: &str, tld: &DomainName) -> Result<Vec<PremiumName>, Vec<String>> {
    let mut names = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or("").trim();
        if entry.is_empty() || (i == 0 && (entry.starts_with("name,") || entry.starts_with("label,"))) {
            continue;
        }
        match parse_line(entry, tld) {
            Ok(p) => names.push(p),
            Err(e) => problems.push(format!("line {}: {e}", i + 1)),
        }
    }
    if problems.is_empty() { Ok(names) } else { Err(problems) }
}

fn parse_line(entry: &str, tld: &DomainName) -> Result<PremiumName, String> {
    let fields: Vec<&str> = entry.split(',').map(str::trim).collect();
    let [label, class, create, renew, rest @ ..] = fields.as_slice() else {
        return Err("expected label,class,create,renew[,transfer]".into());
    };
    if rest.len() > 1 {
        return Err("expected label,class,create,renew[,transfer]".into());
    }
    let name = name_under(label, tld)?;
    check_class(class)?;
    let money = |text: &str| {
        Money::parse(text).map_err(|e| e.to_string()).and_then(|m| if m.0 < 0 { Err(format!("{text} is negative")) } else { Ok(m) })
    };
    let (create, renew) = (money(create)?, money(renew)?);
    let transfer = rest.first().map(|t| money(t)).transpose()?.unwrap_or(renew);
    Ok(PremiumName { name, tld: tld.clone(), class: class.to_string(), prices: PremiumPrices { create, renew, transfer } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_premium_list_reads_labels_classes_and_prices() {
        let tld = DomainName::parse("example").unwrap();
        let list = parse_list(
            "label,class,create,renew,transfer\ngold,premium,1000.00,500,250.50\nsilver.example,tier-2,100,100 # comment\n",
            &tld,
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].name.as_str(), list[0].class.as_str()), ("gold.example", "premium"));
        assert_eq!(list[0].prices, PremiumPrices { create: Money(100_000), renew: Money(50_000), transfer: Money(25_050) });
        assert_eq!(list[1].prices.transfer, Money(10_000), "transfer defaults to renew");
        let problems = parse_list("gold,premium,10\nx,standard,1,1\ny,premium,-1,1\nz,premium,1,1,1,1\n", &tld).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
    }
}
