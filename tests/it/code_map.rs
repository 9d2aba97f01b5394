//! ARCHITECTURE.md's code map is generated from the module docs: each
//! module's first `//!` paragraph says what it owns and its `Must not:` line
//! what it must not do; each file's first sentence says what it holds.
//! `UPDATE_GOLDEN=1 cargo test --test it code_map` writes it again.

use std::path::Path;

const BEGIN: &str = "<!-- code map: generated from the module docs by `UPDATE_GOLDEN=1 cargo test --test it code_map` -->";
const END: &str = "<!-- end of the code map -->";

/// A source file's `//!` doc: its paragraphs, each joined into one line.
fn doc_paragraphs(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut paragraphs = vec![String::new()];
    for line in text.lines().map_while(|l| l.strip_prefix("//!")) {
        let line = line.trim();
        if line.is_empty() {
            paragraphs.push(String::new());
        } else {
            let current = paragraphs.last_mut().unwrap();
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(line);
        }
    }
    // Intra-doc links read as plain code in Markdown.
    let paragraphs: Vec<String> =
        paragraphs.into_iter().filter(|p| !p.is_empty()).map(|p| p.replace("[`", "`").replace("`]", "`")).collect();
    assert!(!paragraphs.is_empty(), "{} has no //! doc saying what it owns", path.display());
    paragraphs
}

fn first_sentence(paragraph: &str) -> &str {
    let mut at = 0;
    while let Some(i) = paragraph[at..].find(". ") {
        let end = at + i + 1;
        if !paragraph[..end].ends_with("e.g.") && !paragraph[..end].ends_with("i.e.") {
            return &paragraph[..end];
        }
        at = end;
    }
    paragraph
}

fn generate(src: &Path) -> String {
    let mut modules: Vec<(String, std::path::PathBuf, Vec<std::path::PathBuf>)> = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(src).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs") && !p.ends_with("mod.rs") && !p.ends_with("tests.rs"))
                .collect();
            files.sort();
            modules.push((format!("{name}/"), path.join("mod.rs"), files));
        } else if name.ends_with(".rs") && name != "lib.rs" && name != "main.rs" {
            modules.push((name, path, Vec::new()));
        }
    }
    let mut out = String::from("| module | owns | must not |\n|---|---|---|\n");
    for (name, doc, files) in &modules {
        let paragraphs = doc_paragraphs(doc);
        let must_not = paragraphs.iter().find_map(|p| p.strip_prefix("Must not: ")).unwrap_or("");
        let mut owns = paragraphs[0].clone();
        for file in files {
            let file_doc = doc_paragraphs(file);
            let file_name = file.file_name().unwrap().to_string_lossy();
            owns.push_str(&format!("<br>`{file_name}`: {}", first_sentence(&file_doc[0])));
        }
        out.push_str(&format!("| `{name}` | {} | {must_not} |\n", owns.replace('|', "\\|")));
    }
    out
}

#[test]
fn code_map_in_architecture_md_is_generated_from_the_module_docs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = generate(&root.join("src"));
    let path = root.join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        panic!("ARCHITECTURE.md needs the code map markers:\n{BEGIN}\n{END}");
    };
    let current = &text[begin + BEGIN.len()..end];
    let wanted = format!("\n{map}");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{}{wanted}{}", &text[..begin + BEGIN.len()], &text[end..])).unwrap();
        return;
    }
    assert_eq!(current, wanted, "the code map is behind the module docs: UPDATE_GOLDEN=1 cargo test --test it code_map");
}
