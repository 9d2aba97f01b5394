//! Reading deposits: the XML as a stream of objects, each handed over as
//! a small tree of its elements once it closes (bounded, so hostile input
//! cannot grow one without limit), and the OpenPGP layers of a `.ryde`
//! (the registry's detached signature, decryption with the agent's key).
//! The checker (`verify`) and the import (`import`) both read through here.

use std::io::{BufRead, Read};
use std::path::Path;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Bounds on one object of the deposit.
const OBJECT_ELEMENTS_MAX: usize = 10_000;
const OBJECT_TEXT_BYTES_MAX: usize = 1 << 20;

/// What a reader of a deposit is handed.
pub(crate) trait Visitor {
    /// The `type` attribute of `rde:deposit` (FULL, DIFF).
    fn root(&mut self, kind: Option<&str>);
    /// `watermark`, `rdeMenu` and `deletes`: the children of the deposit.
    fn deposit_child(&mut self, ns: &str, node: Node);
    /// An object of the contents (and the header), with its namespace.
    fn object(&mut self, ns: &str, node: Node);
}

/// One element of an object, as read.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim()).filter(|t| !t.is_empty())
    }
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn descendants<'a>(&'a self, name: &'a str) -> Box<dyn Iterator<Item = &'a Node> + 'a> {
        Box::new(self.children.iter().flat_map(move |c| std::iter::once(c).filter(move |c| c.name == name).chain(c.descendants(name))))
    }
}

/// Reads a deposit's XML, handing each child of `rde:deposit` and each
/// object of its contents to `visitor` as it closes.
pub(crate) fn read(input: impl BufRead, visitor: &mut impl Visitor) -> Result<(), String> {
    let mut reader = NsReader::from_reader(input);
    let mut buf = Vec::new();
    // The open elements: (namespace, local name); below depth 2 the
    // object being read, as nodes.
    let mut path: Vec<(String, String)> = Vec::new();
    let mut nodes: Vec<Node> = Vec::new();
    let (mut elements, mut text_bytes) = (0usize, 0usize);
    let mut root_seen = false;
    loop {
        let at = reader.buffer_position();
        let (resolved, event) = reader.read_resolved_event_into(&mut buf).map_err(|e| format!("after byte {at}: {e}"))?;
        let ns = match resolved {
            ResolveResult::Bound(ns) => ns.as_ref().to_string(),
            ResolveResult::Unbound => String::new(),
            ResolveResult::Unknown(prefix) => return Err(format!("unknown namespace prefix {}", prefix)),
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let local = start.local_name().as_ref().to_string();
                if path.is_empty() {
                    if root_seen {
                        return Err("more than one root element".into());
                    }
                    root_seen = true;
                    if (ns.as_str(), local.as_str()) != (super::RDE, "deposit") {
                        return Err(format!("the root element is {{{ns}}}{local}, not rde:deposit"));
                    }
                    let kind = start.try_get_attribute("type").ok().flatten().map(|a| a.value.to_string());
                    visitor.root(kind.as_deref());
                }
                let capture = path.len() >= 2 || (path.len() == 1 && local != "contents");
                if capture {
                    elements += 1;
                    if elements > OBJECT_ELEMENTS_MAX {
                        return Err(format!("an object holds more than {OBJECT_ELEMENTS_MAX} elements"));
                    }
                    let mut attrs = Vec::new();
                    for a in start.attributes() {
                        let a = a.map_err(|e| e.to_string())?;
                        if a.key.as_namespace_binding().is_some() || a.key.prefix().is_some() {
                            continue;
                        }
                        let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| e.to_string())?.into_owned();
                        text_bytes += value.len();
                        attrs.push((a.key.local_name().as_ref().to_string(), value));
                    }
                    nodes.push(Node { name: local.clone(), attrs, ..Node::default() });
                }
                path.push((ns, local));
                if matches!(event, Event::Empty(_)) {
                    close(visitor, &mut path, &mut nodes, &mut elements, &mut text_bytes);
                }
            }
            Event::End(_) => close(visitor, &mut path, &mut nodes, &mut elements, &mut text_bytes),
            Event::Text(t) => {
                let text = t.xml10_content();
                if let Some(node) = nodes.last_mut() {
                    text_bytes += text.len();
                    node.text.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let resolved = crate::epp::xml::resolve_reference(&name).map_err(|e| e.to_string())?;
                if let Some(node) = nodes.last_mut() {
                    node.text.push(resolved);
                }
            }
            Event::CData(c) => {
                if let Some(node) = nodes.last_mut() {
                    text_bytes += c.len();
                    node.text.push_str(c.as_ref());
                }
            }
            Event::DocType(_) => return Err("a DTD is not allowed".into()),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
        if text_bytes > OBJECT_TEXT_BYTES_MAX {
            return Err(format!("an object holds more than {OBJECT_TEXT_BYTES_MAX} bytes of text"));
        }
        buf.clear();
    }
    if !path.is_empty() {
        return Err("the document ends inside an element".into());
    }
    if !root_seen {
        return Err("no root element".into());
    }
    Ok(())
}

fn close(
    visitor: &mut impl Visitor,
    path: &mut Vec<(String, String)>,
    nodes: &mut Vec<Node>,
    elements: &mut usize,
    text_bytes: &mut usize,
) {
    let Some((ns, local)) = path.pop() else { return };
    let depth = path.len();
    let captured = depth >= 2 || (depth == 1 && local != "contents");
    if !captured {
        return;
    }
    let Some(node) = nodes.pop() else { return };
    if let Some(parent) = nodes.last_mut() {
        parent.children.push(node);
        return;
    }
    *elements = 0;
    *text_bytes = 0;
    match depth {
        1 => visitor.deposit_child(&ns, node),
        _ => visitor.object(&ns, node),
    }
}

pub(crate) fn check_signature(ryde: &Path, signature: &Path, cert: &Path) -> Result<(), String> {
    use sequoia_openpgp::parse::Parse;
    use sequoia_openpgp::parse::stream::DetachedVerifierBuilder;
    let policy = sequoia_openpgp::policy::StandardPolicy::new();
    let cert = sequoia_openpgp::Cert::from_file(cert).map_err(|e| format!("the registry's certificate: {e}"))?;
    let helper = Pgp { cert, signature_required: true, policy: &policy };
    let mut verifier = DetachedVerifierBuilder::from_file(signature)
        .map_err(|e| format!("{}: {e}", signature.display()))?
        .with_policy(&policy, None, helper)
        .map_err(|e| format!("{}: {e}", signature.display()))?;
    verifier.verify_file(ryde).map_err(|e| format!("{} does not verify over {}: {e}", signature.display(), ryde.display()))
}

/// The files of the deposit `first` starts: itself and, beside an `_S1_`
/// file, `_S2_`, `_S3_`, … as long as they exist (a split deposit).
pub(crate) fn parts(first: &Path) -> Vec<std::path::PathBuf> {
    let mut parts = vec![first.to_path_buf()];
    let name = first.to_string_lossy();
    if !name.contains("_S1_") {
        return parts;
    }
    for k in 2.. {
        let next = std::path::PathBuf::from(name.replacen("_S1_", &format!("_S{k}_"), 1));
        if !next.exists() {
            break;
        }
        parts.push(next);
    }
    parts
}

/// Checks each file of a deposit against the `.sig` beside it.
pub(crate) fn check_signatures(parts: &[std::path::PathBuf], cert: &Path) -> Result<(), String> {
    parts.iter().try_for_each(|part| check_signature(part, &part.with_extension("sig"), cert))
}

/// The files of a split deposit read one after the other.
struct Joined(std::collections::VecDeque<std::fs::File>);

impl Read for Joined {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(file) = self.0.front_mut() {
            match file.read(buf)? {
                0 => {
                    self.0.pop_front();
                }
                n => return Ok(n),
            }
        }
        Ok(0)
    }
}

/// Decrypts a deposit (its files joined, if it was split) with the agent's `key`.
pub(crate) fn decrypt(parts: &[std::path::PathBuf], key: &Path) -> Result<impl Read + use<>, String> {
    let files = parts.iter().map(|p| std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))).collect::<Result<_, _>>()?;
    decrypt_from(Joined(files), &parts[0], key)
}

fn decrypt_from(input: Joined, ryde: &Path, key: &Path) -> Result<impl Read + use<>, String> {
    use sequoia_openpgp::parse::Parse;
    use sequoia_openpgp::parse::stream::DecryptorBuilder;
    // The policy must outlive the decryptor, which streams for as long as
    // the deposit is read.
    static POLICY: std::sync::LazyLock<sequoia_openpgp::policy::StandardPolicy<'static>> =
        std::sync::LazyLock::new(sequoia_openpgp::policy::StandardPolicy::new);
    let cert = sequoia_openpgp::Cert::from_file(key).map_err(|e| format!("the agent's key: {e}"))?;
    let helper = Pgp { cert, signature_required: false, policy: &*POLICY };
    DecryptorBuilder::from_reader(input)
        .map_err(|e| format!("{}: {e}", ryde.display()))?
        .with_policy(&*POLICY, None, helper)
        .map_err(|e| format!("{}: {e}", ryde.display()))
}

/// What sequoia asks of us while decrypting or verifying: the one key or
/// certificate given.
struct Pgp<'a> {
    cert: sequoia_openpgp::Cert,
    signature_required: bool,
    policy: &'a dyn sequoia_openpgp::policy::Policy,
}

impl sequoia_openpgp::parse::stream::VerificationHelper for Pgp<'_> {
    fn get_certs(&mut self, _ids: &[sequoia_openpgp::KeyHandle]) -> sequoia_openpgp::Result<Vec<sequoia_openpgp::Cert>> {
        Ok(vec![self.cert.clone()])
    }

    fn check(&mut self, structure: sequoia_openpgp::parse::stream::MessageStructure) -> sequoia_openpgp::Result<()> {
        use sequoia_openpgp::parse::stream::MessageLayer;
        if !self.signature_required {
            // A RyDE file itself carries no signature; its .sig is checked apart.
            return Ok(());
        }
        let mut errors = Vec::new();
        for layer in structure.into_iter() {
            if let MessageLayer::SignatureGroup { results } = layer {
                for result in results {
                    match result {
                        Ok(_) => return Ok(()),
                        Err(e) => errors.push(e.to_string()),
                    }
                }
            }
        }
        Err(anyhow::anyhow!("no good signature by the registry's key ({})", errors.join("; ")))
    }
}

impl sequoia_openpgp::parse::stream::DecryptionHelper for Pgp<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[sequoia_openpgp::packet::PKESK],
        _skesks: &[sequoia_openpgp::packet::SKESK],
        sym_algo: Option<sequoia_openpgp::types::SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<sequoia_openpgp::types::SymmetricAlgorithm>, &sequoia_openpgp::crypto::SessionKey) -> bool,
    ) -> sequoia_openpgp::Result<Option<sequoia_openpgp::Cert>> {
        for key in self.cert.keys().unencrypted_secret().with_policy(self.policy, None).for_storage_encryption().for_transport_encryption()
        {
            let mut pair = key.key().clone().into_keypair()?;
            for pkesk in pkesks {
                if let Some((algo, session)) = pkesk.decrypt(&mut pair, sym_algo)
                    && decrypt(algo, &session)
                {
                    return Ok(None);
                }
            }
        }
        Err(anyhow::anyhow!("the deposit is not encrypted to this key (or the key's secret is protected)"))
    }
}
