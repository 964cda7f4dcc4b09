//! Embeddings behind one trait, [`Embedder`]:
//!
//! - [`StaticModel`]: WordLlama's 256-d static embedding (`l2_supercat_256`, from the PyPI
//!   wheel `wordllama` 0.4.0.post1, sha256 pinned in scripts/bootstrap.sh): its BPE
//!   tokenizer, token vectors averaged and scaled to length 1. Local stack and tests: no
//!   network at run time, no model hub.
//! - [`OpenAiEmbeddings`]: any OpenAI-compatible `POST /v1/embeddings` server.
//! - [`TitanEmbeddings`]: Amazon Titan Text Embeddings v2 through Bedrock `InvokeModel`.
//!
//! Every vector carries its model's id; the store never compares vectors of two models.

use futures_like::BoxFuture;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// A boxed future without pulling in a crate for it.
mod futures_like {
    pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
}

/// One vector (unit length for every model here).
pub type Embedding = Vec<f32>;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("the local embedding model cannot be loaded: {0}")]
    Load(String),
    #[error("the embedding service failed: {0}")]
    Service(String),
    #[error("the embedding service answered {got} vectors for {asked} texts")]
    Count { asked: usize, got: usize },
    #[error("the embedding service answered {got} dimensions, expected {expected}")]
    Dimensions { expected: usize, got: usize },
}

/// Texts in, one vector each out, in order.
pub trait Embedder: Send + Sync {
    /// The model's id, stored on every chunk: "wordllama-l2-supercat-256",
    /// "amazon.titan-embed-text-v2:0", or the OpenAI-compatible server's model name.
    fn model_id(&self) -> &str;
    fn dimensions(&self) -> usize;
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Embedding>, EmbedError>>;
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

// ---------------------------------------------------------------- the local static model

/// The id of the local model on every row it embedded.
pub const STATIC_MODEL_ID: &str = "wordllama-l2-supercat-256";
/// The files the bootstrap script unpacks from the wheel into the model folder.
pub const STATIC_WEIGHTS_FILE: &str = "l2_supercat_256.safetensors";
pub const STATIC_TOKENIZER_FILE: &str = "l2_supercat_tokenizer_config.json";

/// WordLlama's static embedding: a token table (32,000 x 256) and its tokenizer (a
/// SentencePiece-style BPE with byte fallback, as the wheel's tokenizer.json says).
pub struct StaticModel {
    vocab: HashMap<String, u32>,
    /// (left, right) -> (rank, merged id)
    merges: HashMap<(u32, u32), (u32, u32)>,
    byte_ids: [Option<u32>; 256],
    unk: Option<u32>,
    table: Vec<f32>,
    dims: usize,
}

#[derive(Deserialize)]
struct TokenizerFile {
    model: BpeModel,
}

#[derive(Deserialize)]
struct BpeModel {
    vocab: HashMap<String, u32>,
    merges: Vec<Merge>,
    unk_token: Option<String>,
}

/// `"▁ t"` in older tokenizer files, `["▁", "t"]` in newer ones.
#[derive(Deserialize)]
#[serde(untagged)]
enum Merge {
    Joined(String),
    Pair(String, String),
}

impl StaticModel {
    /// Loads the model from `dir` (the two files named above).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| EmbedError::Load(format!("{}: {e}", dir.join(name).display())))
        };
        let tokenizer: TokenizerFile = serde_json::from_slice(&read(STATIC_TOKENIZER_FILE)?)
            .map_err(|e| EmbedError::Load(format!("tokenizer: {e}")))?;
        let (table, rows, dims) = read_f16_table(&read(STATIC_WEIGHTS_FILE)?)?;
        Self::from_parts(tokenizer.model, table, rows, dims)
    }

    fn from_parts(model: BpeModel, table: Vec<f32>, rows: usize, dims: usize) -> Result<Self, EmbedError> {
        let vocab = model.vocab;
        if vocab.values().any(|&id| id as usize >= rows) {
            return Err(EmbedError::Load("the vocabulary is larger than the table".into()));
        }
        let mut merges = HashMap::with_capacity(model.merges.len());
        for (rank, merge) in model.merges.into_iter().enumerate() {
            let (a, b) = match merge {
                Merge::Joined(s) => match s.split_once(' ') {
                    Some((a, b)) => (a.to_owned(), b.to_owned()),
                    None => continue,
                },
                Merge::Pair(a, b) => (a, b),
            };
            let merged = format!("{a}{b}");
            if let (Some(&ia), Some(&ib), Some(&im)) = (vocab.get(&a), vocab.get(&b), vocab.get(&merged)) {
                let rank = u32::try_from(rank).unwrap_or(u32::MAX);
                merges.entry((ia, ib)).or_insert((rank, im));
            }
        }
        let mut byte_ids = [None; 256];
        for (b, slot) in byte_ids.iter_mut().enumerate() {
            *slot = vocab.get(&format!("<0x{b:02X}>")).copied();
        }
        let unk = model.unk_token.as_ref().and_then(|u| vocab.get(u)).copied();
        Ok(Self {
            vocab,
            merges,
            byte_ids,
            unk,
            table,
            dims,
        })
    }

    /// The token ids of `text`: "▁" before the text and for every space, then BPE within
    /// each "▁"-led word (the merges never cross a word start), unknown characters as bytes.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        let normalised = format!("▁{}", text.replace(' ', "▁"));
        let mut ids = Vec::new();
        let mut word = String::new();
        for c in normalised.chars() {
            if c == '▁' && !word.is_empty() && !word.chars().all(|w| w == '▁') {
                self.bpe_word(&word, &mut ids);
                word.clear();
            }
            word.push(c);
        }
        if !word.is_empty() {
            self.bpe_word(&word, &mut ids);
        }
        ids
    }

    fn bpe_word(&self, word: &str, out: &mut Vec<u32>) {
        let mut symbols: Vec<u32> = Vec::with_capacity(word.len());
        let mut buf = [0u8; 4];
        for c in word.chars() {
            match self.vocab.get(c.encode_utf8(&mut buf) as &str) {
                Some(&id) => symbols.push(id),
                None => {
                    for b in c.encode_utf8(&mut buf).bytes() {
                        if let Some(id) = self.byte_ids[b as usize].or(self.unk) {
                            symbols.push(id);
                        }
                    }
                }
            }
        }
        loop {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| self.merges.get(&(w[0], w[1])).map(|&(rank, id)| (rank, i, id)))
                .min();
            match best {
                Some((_, i, id)) => {
                    symbols[i] = id;
                    symbols.remove(i + 1);
                }
                None => break,
            }
        }
        out.extend(symbols);
    }

    /// The mean of the tokens' vectors, scaled to length 1 (zero for an empty text).
    pub fn embed_one(&self, text: &str) -> Embedding {
        let ids = self.tokenize(text);
        let mut v = vec![0f32; self.dims];
        for id in &ids {
            let row = &self.table[*id as usize * self.dims..(*id as usize + 1) * self.dims];
            v.iter_mut().zip(row).for_each(|(a, b)| *a += b);
        }
        unit(v)
    }
}

impl Embedder for StaticModel {
    fn model_id(&self) -> &str {
        STATIC_MODEL_ID
    }
    fn dimensions(&self) -> usize {
        self.dims
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Embedding>, EmbedError>> {
        Box::pin(async move { Ok(texts.iter().map(|t| self.embed_one(t)).collect()) })
    }
}

/// The one F16 tensor of a safetensors file as f32 rows: (values, rows, columns).
fn read_f16_table(bytes: &[u8]) -> Result<(Vec<f32>, usize, usize), EmbedError> {
    let bad = |m: &str| EmbedError::Load(format!("weights: {m}"));
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("too short"))?;
    let header_len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| bad("header length"))?;
    let header = bytes.get(8..8 + header_len).ok_or_else(|| bad("header"))?;
    let header: HashMap<String, serde_json::Value> = serde_json::from_slice(header).map_err(|e| bad(&e.to_string()))?;
    let tensor = header
        .iter()
        .find(|(k, _)| k.as_str() != "__metadata__")
        .map(|(_, v)| v)
        .ok_or_else(|| bad("no tensor"))?;
    if tensor.get("dtype").and_then(|d| d.as_str()) != Some("F16") {
        return Err(bad("expected one F16 tensor"));
    }
    let shape: Vec<usize> = serde_json::from_value(tensor["shape"].clone()).map_err(|e| bad(&e.to_string()))?;
    let offsets: Vec<usize> =
        serde_json::from_value(tensor["data_offsets"].clone()).map_err(|e| bad(&e.to_string()))?;
    let ([rows, cols], [start, end]) = (shape.as_slice(), offsets.as_slice()) else {
        return Err(bad("expected a 2-d tensor"));
    };
    let data = bytes
        .get(8 + header_len + start..8 + header_len + end)
        .ok_or_else(|| bad("data out of range"))?;
    if data.len() != rows * cols * 2 {
        return Err(bad("data size does not match the shape"));
    }
    let values = data
        .chunks_exact(2)
        .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
        .collect();
    Ok((values, *rows, *cols))
}

/// IEEE 754 half precision to single.
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: normalise.
            let mut e = 127 - 15 + 1;
            let mut f = f;
            while f & 0x400 == 0 {
                f <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((f & 0x3ff) << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

// ---------------------------------------------------------------- OpenAI-compatible

/// Any server speaking OpenAI's `POST /v1/embeddings` (OpenAI, vLLM, Ollama, LiteLLM...).
pub struct OpenAiEmbeddings {
    http: reqwest::Client,
    /// e.g. `http://127.0.0.1:11434/v1`
    base_url: String,
    model: String,
    dims: usize,
    api_key: Option<String>,
}

impl OpenAiEmbeddings {
    pub fn new(http: reqwest::Client, base_url: &str, model: &str, dims: usize, api_key: Option<String>) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            dims,
            api_key,
        }
    }
}

#[derive(Deserialize)]
struct OpenAiResponse {
    data: Vec<OpenAiItem>,
}

#[derive(Deserialize)]
struct OpenAiItem {
    index: usize,
    embedding: Vec<f32>,
}

impl Embedder for OpenAiEmbeddings {
    fn model_id(&self) -> &str {
        &self.model
    }
    fn dimensions(&self) -> usize {
        self.dims
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Embedding>, EmbedError>> {
        Box::pin(async move {
            let mut request = self
                .http
                .post(format!("{}/embeddings", self.base_url))
                .json(&serde_json::json!({"model": self.model, "input": texts, "dimensions": self.dims}));
            if let Some(key) = &self.api_key {
                request = request.bearer_auth(key);
            }
            let response = request
                .send()
                .await
                .map_err(|e| EmbedError::Service(e.without_url().to_string()))?;
            let status = response.status();
            if !status.is_success() {
                return Err(EmbedError::Service(format!("status {status}")));
            }
            let mut body: OpenAiResponse = response
                .json()
                .await
                .map_err(|e| EmbedError::Service(e.without_url().to_string()))?;
            if body.data.len() != texts.len() {
                return Err(EmbedError::Count {
                    asked: texts.len(),
                    got: body.data.len(),
                });
            }
            body.data.sort_by_key(|d| d.index);
            body.data
                .into_iter()
                .map(|d| {
                    if d.embedding.len() == self.dims {
                        Ok(unit(d.embedding))
                    } else {
                        Err(EmbedError::Dimensions {
                            expected: self.dims,
                            got: d.embedding.len(),
                        })
                    }
                })
                .collect()
        })
    }
}

// ---------------------------------------------------------------- Bedrock Titan v2

/// The Bedrock model id of Titan Text Embeddings v2.
pub const TITAN_V2_MODEL_ID: &str = "amazon.titan-embed-text-v2:0";

/// Amazon Titan Text Embeddings v2 (1024-d, normalised) through `InvokeModel`, one text a call.
pub struct TitanEmbeddings {
    client: aws_sdk_bedrockruntime::Client,
}

impl TitanEmbeddings {
    pub fn new(client: aws_sdk_bedrockruntime::Client) -> Self {
        Self { client }
    }
}

#[derive(Deserialize)]
struct TitanResponse {
    embedding: Vec<f32>,
}

impl Embedder for TitanEmbeddings {
    fn model_id(&self) -> &str {
        TITAN_V2_MODEL_ID
    }
    fn dimensions(&self) -> usize {
        1024
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Embedding>, EmbedError>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(texts.len());
            for text in texts {
                let body = serde_json::json!({"inputText": text, "dimensions": 1024, "normalize": true});
                let response = self
                    .client
                    .invoke_model()
                    .model_id(TITAN_V2_MODEL_ID)
                    .content_type("application/json")
                    .accept("application/json")
                    .body(aws_smithy_types::Blob::new(body.to_string()))
                    .send()
                    .await
                    .map_err(|e| {
                        EmbedError::Service(aws_sdk_bedrockruntime::error::DisplayErrorContext(e).to_string())
                    })?;
                let parsed: TitanResponse = serde_json::from_slice(response.body().as_ref())
                    .map_err(|e| EmbedError::Service(format!("Titan answer: {e}")))?;
                if parsed.embedding.len() != 1024 {
                    return Err(EmbedError::Dimensions {
                        expected: 1024,
                        got: parsed.embedding.len(),
                    });
                }
                out.push(unit(parsed.embedding));
            }
            Ok(out)
        })
    }
}

// ---------------------------------------------------------------- choosing one

/// Where the bootstrap script unpacks the local model (`EMBEDDING_MODEL_DIR` overrides).
pub fn default_model_dir() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    std::path::PathBuf::from(home).join(".cache/sluice/models/wordllama-0.4.0.post1")
}

/// The local model, loaded once per process and shared (it is read-only).
pub fn shared_static_model(dir: &Path) -> Result<std::sync::Arc<StaticModel>, EmbedError> {
    use std::sync::{Arc, Mutex, OnceLock};
    static LOADED: OnceLock<Mutex<HashMap<std::path::PathBuf, Arc<StaticModel>>>> = OnceLock::new();
    let cache = LOADED.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(m) = cache.lock().ok().and_then(|c| c.get(dir).cloned()) {
        return Ok(m);
    }
    let model = Arc::new(StaticModel::load(dir)?);
    if let Ok(mut c) = cache.lock() {
        c.insert(dir.to_path_buf(), model.clone());
    }
    Ok(model)
}

/// The embedder the settings name: `EMBEDDINGS_PROVIDER` = `local` (the default:
/// `EMBEDDING_MODEL_DIR`), `openai` (`EMBEDDINGS_BASE_URL`, `EMBEDDINGS_MODEL`,
/// `EMBEDDINGS_DIMENSIONS`, optional `EMBEDDINGS_API_KEY`) or `bedrock` (Titan v2; optional
/// `BEDROCK_ENDPOINT_URL`).
pub fn from_config(
    cfg: &sluice_core::ConfigSource,
    sdk: &aws_config::SdkConfig,
) -> Result<std::sync::Arc<dyn Embedder>, sluice_core::InitError> {
    use sluice_core::InitError;
    let provider: String = cfg.or("EMBEDDINGS_PROVIDER", "local".to_string())?;
    match provider.as_str() {
        "local" => {
            let dir = cfg
                .optional::<String>("EMBEDDING_MODEL_DIR")?
                .map_or_else(default_model_dir, std::path::PathBuf::from);
            let model = shared_static_model(&dir).map_err(|e| {
                InitError::unusable("EMBEDDING_MODEL_DIR", format!("{e} (run scripts/bootstrap.sh stack)"))
            })?;
            Ok(model)
        }
        "openai" => {
            let base: String = cfg.required("EMBEDDINGS_BASE_URL")?;
            let model: String = cfg.required("EMBEDDINGS_MODEL")?;
            let dims: usize = cfg.required("EMBEDDINGS_DIMENSIONS")?;
            let key: Option<String> = cfg.optional("EMBEDDINGS_API_KEY")?;
            let http = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(|e| InitError::unusable("EMBEDDINGS_BASE_URL", e))?;
            Ok(std::sync::Arc::new(OpenAiEmbeddings::new(
                http, &base, &model, dims, key,
            )))
        }
        "bedrock" => {
            // BEDROCK_ENDPOINT_URL: as llm-analyzer, a Bedrock-compatible endpoint (tests: the fake).
            let mut builder = aws_sdk_bedrockruntime::config::Builder::from(sdk);
            if let Some(url) = cfg.optional::<String>("BEDROCK_ENDPOINT_URL")? {
                builder = builder.endpoint_url(url);
            }
            Ok(std::sync::Arc::new(TitanEmbeddings::new(
                aws_sdk_bedrockruntime::Client::from_conf(builder.build()),
            )))
        }
        other => Err(InitError::unusable(
            "EMBEDDINGS_PROVIDER",
            format!("`{other}` is not one of local, openai, bedrock"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> StaticModel {
        // ▁ a b ab ▁ab, bytes for é
        let mut vocab: HashMap<String, u32> = HashMap::new();
        for (i, t) in ["<unk>", "▁", "a", "b", "ab", "▁ab", "<0xC3>", "<0xA9>"]
            .iter()
            .enumerate()
        {
            vocab.insert((*t).to_string(), i as u32);
        }
        let model = BpeModel {
            vocab,
            merges: vec![Merge::Joined("a b".into()), Merge::Pair("▁".into(), "ab".into())],
            unk_token: Some("<unk>".into()),
        };
        let dims = 2;
        let table = vec![0., 0., 1., 0., 0., 1., 1., 1., 0.5, 0.5, 0.3, 0.4, 0., 1., 1., 0.];
        StaticModel::from_parts(model, table, 8, dims).expect("tiny model")
    }

    #[test]
    fn bpe_merges_by_rank_within_words_and_falls_back_to_bytes() {
        let m = tiny();
        assert_eq!(m.tokenize("ab ab"), vec![5, 5]);
        assert_eq!(m.tokenize("ba"), vec![1, 3, 2]);
        assert_eq!(m.tokenize("é"), vec![1, 6, 7]);
    }

    #[test]
    fn embedding_is_the_unit_mean() {
        let m = tiny();
        let v = m.embed_one("ab");
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6, "{v:?}");
    }

    #[test]
    fn half_precision_converts() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert!((f16_to_f32(0x0001) - 5.960_464_5e-8).abs() < 1e-12);
    }
}
