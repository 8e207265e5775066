// logverify.js — checks the exchange log's evidence on the resident's own device.
//
// The portal sends evidence, not verdicts (GET /api/log): for each entry the exact leaf bytes,
// its index and its RFC 9162 audit path; the C2SP signed checkpoint (signed note) the paths
// lead to, carrying the witnesses' cosignatures (C2SP tlog-cosignature/v1, Ed25519); and, with
// ?since_size=N, a consistency proof from the checkpoint this browser kept last time.
//
// Everything is checked here with WebCrypto (SHA-256 and Ed25519) against keys pinned in this
// browser: the log's signature, a quorum of witness cosignatures, consistency with the last
// checkpoint (kept in localStorage), each leaf hash and audit path, and that the fields shown
// are the ones in the leaf. No third-party code; nothing here trusts the server's word.

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

export class LogFault extends Error {}

// ---------------------------------------------------------------- bytes and hashes

export function fromBase64(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
    throw new LogFault("not valid base64");
  }
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export const leafHash = (leaf) => sha256(concat(Uint8Array.of(0), leaf));
const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

// ---------------------------------------------------------------- RFC 9162 proofs

// RFC 9162 §2.1.3.2: verify an audit path (BigInt arithmetic: sizes may exceed 2^31).
export async function verifyInclusion(hash, index, size, path, root) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn) throw new LogFault(`index ${index} is outside a tree of size ${size}`);
  let r = hash;
  for (const p of path) {
    if (sn === 0n) throw new LogFault("the audit path is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new LogFault("the audit path is too short");
  if (!equal(r, root)) throw new LogFault("the audit path does not lead to the signed root");
}

// RFC 9162 §2.1.4.2: verify a consistency proof between two tree sizes.
export async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (first > second) throw new LogFault(`the log shrank from ${first} to ${second} entries`);
  if (first === second) {
    if (proof.length || !equal(firstRoot, secondRoot)) {
      throw new LogFault(`two different trees of size ${first}`);
    }
    return;
  }
  if (first === 0) return;
  let path = proof;
  let fn = BigInt(first) - 1n;
  let sn = BigInt(second) - 1n;
  if ((BigInt(first) & (BigInt(first) - 1n)) === 0n) path = [firstRoot, ...proof];
  if (!path.length) throw new LogFault("the consistency proof is empty");
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new LogFault("the consistency proof is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n || !equal(fr, firstRoot) || !equal(sr, secondRoot)) {
    throw new LogFault(`the tree of size ${second} does not extend the kept one of size ${first}`);
  }
}

// ---------------------------------------------------------------- C2SP signed notes

async function keyId(name, type, publicKey) {
  return (await sha256(concat(enc.encode(name + "\n"), Uint8Array.of(type), publicKey))).slice(0, 4);
}

// A C2SP verifier key: name+hex(key id)+base64(type || 32-byte Ed25519 key).
export async function parseVkey(vkey, type) {
  const [name, hexId, b64] = splitVkey(String(vkey));
  if (!name || !hexId || !b64) throw new LogFault("a pinned key is not name+id+key");
  const raw = fromBase64(b64);
  if (raw.length !== 33 || raw[0] !== type) throw new LogFault(`pinned key ${name} has the wrong type`);
  const publicKey = raw.slice(1);
  const id = await keyId(name, type, publicKey);
  if ([...id].map((b) => b.toString(16).padStart(2, "0")).join("") !== hexId) {
    throw new LogFault(`pinned key ${name} has a wrong key id`);
  }
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return { name, id, key };
}

function splitVkey(vkey) {
  const first = vkey.indexOf("+");
  const second = vkey.indexOf("+", first + 1);
  if (first < 0 || second < 0) return [];
  return [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
}

export function splitNote(note) {
  const at = note.lastIndexOf("\n\n");
  if (at < 0 || !note.endsWith("\n")) throw new LogFault("the checkpoint is not a signed note");
  const text = note.slice(0, at + 1);
  const signatures = note
    .slice(at + 2, -1)
    .split("\n")
    .map((line) => {
      const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
      if (!m) throw new LogFault("the checkpoint has a malformed signature line");
      return { name: m[1], blob: fromBase64(m[2]) };
    });
  return { text, signatures };
}

export function parseCheckpoint(text) {
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
    throw new LogFault("the checkpoint body is malformed");
  }
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new LogFault("the checkpoint's root hash is not 32 bytes");
  return { origin: lines[0], size: Number(lines[1]), root };
}

async function verifyLogSignature(note, log) {
  const { text, signatures } = splitNote(note);
  for (const { name, blob } of signatures) {
    if (name !== log.name || !equal(blob.slice(0, 4), log.id)) continue;
    const ok = blob.length === 68 &&
      (await crypto.subtle.verify({ name: "Ed25519" }, log.key, blob.slice(4), enc.encode(text)));
    if (!ok) throw new LogFault("the checkpoint's signature does not verify with the pinned log key");
    const checkpoint = parseCheckpoint(text);
    if (checkpoint.origin !== log.name) throw new LogFault("the checkpoint is for another log");
    return { text, checkpoint };
  }
  throw new LogFault("the checkpoint is not signed by the pinned log key");
}

// tlog-cosignature/v1: blob = key id (4) || u64 big-endian timestamp (8) || Ed25519 signature.
async function verifyCosignatures(note, text, witnesses) {
  const { signatures } = splitNote(note);
  const valid = new Set();
  for (const w of witnesses) {
    for (const { name, blob } of signatures) {
      if (name !== w.name || !equal(blob.slice(0, 4), w.id)) continue;
      if (blob.length !== 76) throw new LogFault(`the cosignature by ${w.name} is malformed`);
      const stamp = new DataView(blob.buffer, blob.byteOffset + 4, 8).getBigUint64(0);
      const message = enc.encode(`cosignature/v1\ntime ${stamp}\n${text}`);
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, w.key, blob.slice(12), message);
      if (!ok) throw new LogFault(`the cosignature by witness ${w.name} does not verify`);
      valid.add(w.name);
    }
  }
  return [...valid].sort();
}

// ---------------------------------------------------------------- the whole check

const LEAF_FIELDS = ["index", "time", "requester", "provider", "item", "procedure", "outcome",
  "reason", "request_id", "tag"];
// SHA-256 (hex) of the sealed answer the hub relayed; its place in a batch-sealed answer.
const OPTIONAL_FIELDS = ["answer_sha256", "answer_position"];

function wellFormed(fields) {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) return false;
  const keys = Object.keys(fields);
  if (!LEAF_FIELDS.every((k) => keys.includes(k))) return false;
  if (!keys.every((k) => LEAF_FIELDS.includes(k) || OPTIONAL_FIELDS.includes(k))) return false;
  if ("answer_sha256" in fields && !/^[0-9a-f]{64}$/.test(fields.answer_sha256)) return false;
  return !("answer_position" in fields) ||
    (Number.isInteger(fields.answer_position) && fields.answer_position >= 0);
}
const SHOWN_FIELDS = ["time", "requester", "provider", "item", "procedure", "outcome", "reason"];

async function checkEntry(entry, checkpoint) {
  const leaf = fromBase64(entry.leaf);
  let fields;
  try {
    fields = JSON.parse(dec.decode(leaf));
  } catch {
    throw new LogFault("the leaf is not JSON");
  }
  if (!wellFormed(fields) || fields.index !== entry.index) {
    throw new LogFault("the leaf is not this entry");
  }
  for (const name of SHOWN_FIELDS) {
    if (name in entry && entry[name] !== fields[name]) {
      throw new LogFault(`the portal shows ${name} differently from the signed leaf`);
    }
  }
  if (entry.pending) {
    if (entry.index < checkpoint.size) throw new LogFault("called pending, but the checkpoint covers it");
    return { status: "pending", fields };
  }
  const path = (entry.audit_path || []).map(fromBase64);
  await verifyInclusion(await leafHash(leaf), entry.index, checkpoint.size, path, checkpoint.root);
  return { status: "verified", fields };
}

// evidence: the /api/log JSON; trust: {log: vkey, witnesses: [vkeys], quorum};
// kept: {size, root (base64)} from the last visit, or null.
// Returns {fault, checkpoint, cosigners, rows, extendedFrom}; fault is null when all is well.
export async function verifyLog(evidence, trust, kept) {
  const result = { fault: null, checkpoint: null, cosigners: [], rows: [], extendedFrom: null };
  try {
    const log = await parseVkey(trust.log, 0x01);
    const witnesses = await Promise.all((trust.witnesses || []).map((v) => parseVkey(v, 0x04)));
    const quorum = trust.quorum ?? witnesses.length;
    const { text, checkpoint } = await verifyLogSignature(evidence.checkpoint, log);
    result.checkpoint = checkpoint;
    result.cosigners = await verifyCosignatures(evidence.checkpoint, text, witnesses);
    if (result.cosigners.length < quorum) {
      throw new LogFault(`the checkpoint is cosigned by ${result.cosigners.length} of the ` +
        `${witnesses.length} pinned witnesses; ${quorum} are required`);
    }
    if (kept && kept.size > 0) {
      const c = evidence.consistency || {};
      const sameTree = kept.size === checkpoint.size;
      if (!sameTree && (c.from_size !== kept.size || c.to_size !== checkpoint.size)) {
        throw new LogFault(`no consistency proof from the kept checkpoint of size ${kept.size}`);
      }
      await verifyConsistency(kept.size, checkpoint.size, fromBase64(kept.root), checkpoint.root,
        (c.proof || []).map(fromBase64));
      result.extendedFrom = kept.size;
    }
  } catch (error) {
    result.fault = error instanceof LogFault ? error.message : `check failed: ${error.message}`;
    return result;
  }
  for (const entry of evidence.entries || []) {
    try {
      result.rows.push({ index: entry.index, ...(await checkEntry(entry, result.checkpoint)) });
    } catch (error) {
      const message = error instanceof LogFault ? error.message : error.message;
      result.rows.push({ index: entry.index, status: "failed", error: message });
    }
  }
  return result;
}

export function toBase64(bytes) {
  return btoa(String.fromCharCode(...bytes));
}
