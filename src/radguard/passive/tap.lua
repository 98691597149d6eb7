-- radguard's tshark tap: the only code that sees packet contents.
--
-- tshark's own DICOM and HL7 dissectors (and its TCP reassembly) decode the capture; this tap
-- walks the decoded fields of each frame *inside tshark* and prints, one JSON object per
-- line, only an allow-list of facts:
--   DICOM  association PDUs (AE titles, implementation UID/version, presentation contexts,
--          roles, result/reject reason), abort, and from command sets (PDV flag bit 0 set)
--          only the Command Field (0000,0100) and Move Destination (0000,0600);
--   HL7    MSH-3..6 and the message type/trigger (MSH-9) only;
--   flows  per TCP/UDP conversation: endpoints, packets, bytes, first/last seen, TLS seen.
-- Data sets (P-DATA with flag bit 0 clear), HL7 segments other than MSH, and any other
-- payload never leave tshark. Strings are JSON-escaped here; radguard validates them again.

local f_stream = Field.new("tcp.stream")
local f_udp_stream = Field.new("udp.stream")
local f_syn = Field.new("tcp.flags.syn")
local f_ack = Field.new("tcp.flags.ack")
local f_tls = Field.new("tls.record.content_type")
-- Referenced so tshark keeps them in the tree the DICOM/HL7 listener walks.
local _keep = { Field.new("_ws.malformed"), Field.new("_ws.short"), Field.new("dicom.pdu.type"), Field.new("dicom.pdv.flags"), Field.new("dicom.tag"),
                Field.new("dicom.tag.value.str"), Field.new("dicom.tag.value.16u"), Field.new("hl7.field"),
                Field.new("dicom.pdu.len"), Field.new("dicom.assoc.ae.calling"), Field.new("dicom.assoc.ae.called"),
                Field.new("dicom.userinfo.uid"), Field.new("dicom.userinfo.version"), Field.new("dicom.max_pdu_len"),
                Field.new("dicom.assoc.reject.result"), Field.new("dicom.assoc.reject.source"),
                Field.new("dicom.assoc.reject.reason"), Field.new("dicom.assoc.abort.source"),
                Field.new("dicom.assoc.abort.reason"), Field.new("dicom.pctx.id"), Field.new("dicom.pctx.abss.syntax"),
                Field.new("dicom.pctx.result"), Field.new("dicom.userinfo.rolesel.sopclassuid"),
                Field.new("dicom.userinfo.rolesel.scurole"), Field.new("dicom.userinfo.rolesel.scprole"),
                Field.new("hl7.message.type"), Field.new("hl7.event.type"), Field.new("hl7.segment") }

local function esc(s)
  s = tostring(s)
  s = s:gsub('[%c"\\\128-\255]', function(c)
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. s .. '"'
end

local function arr(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = v end
  return "[" .. table.concat(out, ",") .. "]"
end

-- ---- flows ---------------------------------------------------------------------------
-- One listener on every frame (no filter) does the flows and counts the frames read: this
-- runs once per packet, so it does as little as it can. Addresses become strings only when a
-- conversation is first seen; after that the direction comes from the ports (the addresses
-- only when both ends use the same port), and TLS is looked for in a conversation's first
-- TLS_LOOK packets, where a handshake or the first records are.
local flows = {}
local frames = 0
local TLS_LOOK = 16
local flow_tap = Listener.new("frame")

function flow_tap.packet(pinfo, tvb)
  frames = pinfo.number
  local key, proto
  local s = f_stream()
  if s ~= nil then
    proto, key = "tcp", s.value
  else
    local u = f_udp_stream()
    if u == nil then return end
    proto, key = "udp", -1 - u.value  -- UDP keys negative: one table for both
  end
  local sport = pinfo.src_port
  local t = pinfo.abs_ts
  local f = flows[key]
  if f == nil then
    local src, dst = tostring(pinfo.src), tostring(pinfo.dst)
    local dport = pinfo.dst_port
    local client_is_src
    local syn, ack = f_syn(), f_ack()
    if syn ~= nil and syn.value and not (ack ~= nil and ack.value) then
      client_is_src = true
    elseif syn ~= nil and syn.value then
      client_is_src = false  -- a SYN-ACK first: the sender is the server
    else
      client_is_src = sport >= dport  -- mid-stream start: the higher port is the ephemeral one
    end
    if client_is_src then
      f = { proto = proto, c = src, cp = sport, s = dst, sp = dport }
    else
      f = { proto = proto, c = dst, cp = dport, s = src, sp = sport }
    end
    f.id = proto .. (proto == "tcp" and key or (-1 - key))
    f.pk, f.cb, f.sb, f.first, f.last, f.tls = 0, 0, 0, t, t, false
    flows[key] = f
  end
  local n = f.pk + 1
  f.pk = n
  local from_client
  if f.cp ~= f.sp then from_client = sport == f.cp else from_client = tostring(pinfo.src) == f.c end
  if from_client then f.cb = f.cb + pinfo.len else f.sb = f.sb + pinfo.len end
  if t < f.first then f.first = t end
  if t > f.last then f.last = t end
  if n <= TLS_LOOK and not f.tls and f_tls() ~= nil then f.tls = true end
end

function flow_tap.draw()
  for _, f in pairs(flows) do
    io.write('{"t":"flow","id":', esc(f.id), ',"proto":', esc(f.proto), ',"client":', esc(f.c),
             ',"client_port":', f.cp, ',"server":', esc(f.s), ',"server_port":', f.sp,
             ',"packets":', f.pk, ',"client_bytes":', f.cb, ',"server_bytes":', f.sb,
             ',"first":', string.format("%.6f", f.first), ',"last":', string.format("%.6f", f.last),
             ',"tls":', tostring(f.tls), '}\n')
  end
end

function flow_tap.reset() flows, frames = {}, 0 end

-- ---- frames read and malformed frames ---------------------------------------------------
-- So a warning can name the packet: the last frame read (counted by the flow listener above;
-- a file cut short stops there) and the first malformed frames (a dissector gave up on them:
-- truncated, bogus lengths).
local malformed, malformed_count = {}, 0
local bad_tap = Listener.new("frame", "_ws.malformed || _ws.short")
function bad_tap.packet(pinfo)
  malformed_count = malformed_count + 1
  if #malformed < 20 then malformed[#malformed + 1] = pinfo.number end
end
function bad_tap.draw()
  io.write('{"t":"end","frames":', frames, ',"malformed":', malformed_count, ',"malformed_frames":[',
           table.concat(malformed, ","), ']}\n')
end
function bad_tap.reset() malformed, malformed_count = {}, 0 end

-- ---- DICOM and HL7 ---------------------------------------------------------------------
local app_tap = Listener.new("frame", "dicom || hl7")

local CMD_FIELD, MOVE_DEST = 0x0100, 0x0600

local function head(pinfo, kind)
  local s = f_stream()
  return '{"t":"' .. kind .. '","id":' .. esc("tcp" .. (s and s.value or "?")) ..
         ',"src":' .. esc(tostring(pinfo.src)) .. ',"src_port":' .. pinfo.src_port ..
         ',"dst":' .. esc(tostring(pinfo.dst)) .. ',"dst_port":' .. pinfo.dst_port ..
         ',"time":' .. string.format("%.6f", pinfo.abs_ts)
end

function app_tap.packet(pinfo, tvb)
  local fis = { all_field_infos() }
  local pdu = nil      -- the association PDU being collected
  local in_cmd, tag = false, nil
  local cmd = nil      -- command-set facts of the current PDV
  local hl7, hl7_field, in_msh = nil, nil, false
  local lines = {}

  local function flush_pdu()
    if pdu ~= nil then
      local parts = { head(pinfo, "dicom"), ',"pdu":', pdu.type }
      for _, k in ipairs({ "calling", "called", "uid", "version", "reject_result", "reject_source",
                           "reject_reason", "abort_source", "abort_reason", "max_pdu", "length" }) do
        if pdu[k] ~= nil then parts[#parts + 1] = ',"' .. k .. '":' .. pdu[k] end
      end
      parts[#parts + 1] = ',"contexts":' .. arr(pdu.ctx) .. ',"roles":' .. arr(pdu.roles) .. '}'
      lines[#lines + 1] = table.concat(parts)
      pdu = nil
    end
  end
  local function flush_cmd()
    if cmd ~= nil and (cmd.command ~= nil or cmd.move ~= nil) then
      lines[#lines + 1] = head(pinfo, "dimse") .. ',"command":' .. (cmd.command or "null") ..
                          ',"move_destination":' .. (cmd.move or "null") .. '}'
    end
    cmd = nil
  end
  local function flush_hl7()
    if hl7 ~= nil then
      local parts = { head(pinfo, "hl7") }
      for _, k in ipairs({ "msh3", "msh4", "msh5", "msh6", "type", "event" }) do
        if hl7[k] ~= nil then parts[#parts + 1] = ',"' .. k .. '":' .. hl7[k] end
      end
      parts[#parts + 1] = '}'
      lines[#lines + 1] = table.concat(parts)
      hl7 = nil
    end
  end

  local ctx = nil
  for _, fi in ipairs(fis) do
    local n = fi.name
    if n == "dicom.pdu.type" then
      flush_pdu(); flush_cmd()
      in_cmd = false
      local ty = fi.value
      if ty == 1 or ty == 2 or ty == 3 or ty == 7 then
        pdu = { type = ty, ctx = {}, roles = {} }
      end
    elseif pdu ~= nil then
      if n == "dicom.pdu.len" then pdu.length = fi.value
      elseif n == "dicom.assoc.ae.calling" then pdu.calling = esc(fi.value)
      elseif n == "dicom.assoc.ae.called" then pdu.called = esc(fi.value)
      elseif n == "dicom.userinfo.uid" then pdu.uid = esc(fi.value)
      elseif n == "dicom.userinfo.version" then pdu.version = esc(fi.value)
      elseif n == "dicom.max_pdu_len" then pdu.max_pdu = fi.value
      elseif n == "dicom.assoc.reject.result" then pdu.reject_result = fi.value
      elseif n == "dicom.assoc.reject.source" then pdu.reject_source = fi.value
      elseif n == "dicom.assoc.reject.reason" then pdu.reject_reason = fi.value
      elseif n == "dicom.assoc.abort.source" then pdu.abort_source = fi.value
      elseif n == "dicom.assoc.abort.reason" then pdu.abort_reason = fi.value
      elseif n == "dicom.pctx.id" then
        ctx = { id = fi.value, slot = #pdu.ctx + 1 }
        pdu.ctx[ctx.slot] = '{"id":' .. ctx.id .. '}'
      elseif n == "dicom.pctx.abss.syntax" and ctx ~= nil then
        ctx.abs = esc(fi.value)
        pdu.ctx[ctx.slot] = '{"id":' .. ctx.id .. ',"abstract":' .. ctx.abs .. '}'
      elseif n == "dicom.pctx.result" and ctx ~= nil then
        pdu.ctx[ctx.slot] = '{"id":' .. ctx.id .. ',"result":' .. fi.value .. '}'
      elseif n == "dicom.userinfo.rolesel.sopclassuid" then
        pdu.roles[#pdu.roles + 1] = '{"sop":' .. esc(fi.value)
      elseif (n == "dicom.userinfo.rolesel.scurole" or n == "dicom.userinfo.rolesel.scprole")
             and #pdu.roles > 0 then
        local key = n == "dicom.userinfo.rolesel.scurole" and "scu" or "scp"
        pdu.roles[#pdu.roles] = pdu.roles[#pdu.roles] .. ',"' .. key .. '":' .. fi.value
        if key == "scp" then pdu.roles[#pdu.roles] = pdu.roles[#pdu.roles] .. '}' end
      end
    elseif n == "dicom.pdv.flags" then
      flush_cmd()
      in_cmd = (bit32.band(fi.value, 1) == 1)
      tag = nil
      if in_cmd then cmd = {} end
    elseif in_cmd and n == "dicom.tag" then
      tag = fi.value
    elseif in_cmd and tag == CMD_FIELD and n == "dicom.tag.value.16u" then
      cmd.command = fi.value
    elseif in_cmd and tag == MOVE_DEST and n == "dicom.tag.value.str" then
      cmd.move = esc(fi.value)
    elseif n == "hl7.message.type" then
      -- A new message starts: its MSH fields follow (MSH-1 is "MSH").
      flush_hl7()
      hl7 = { type = esc(fi.value) }
      in_msh = false
    elseif n == "hl7.event.type" and hl7 ~= nil then
      hl7.event = esc(fi.value)
    elseif n == "hl7.segment" and hl7 ~= nil and not in_msh then
      -- Only the MSH segment is split; its field numbers follow the standard (MSH-1 is the
      -- field separator itself, so the text's first "|"-piece after "MSH" is MSH-2).
      local text = tostring(fi.value)
      if text:sub(1, 3) == "MSH" and #text > 4 then
        in_msh = true
        local sep = text:sub(4, 4)
        local num = 1
        for piece in (text:sub(5) .. sep):gmatch("(.-)" .. sep:gsub("%p", "%%%0")) do
          num = num + 1
          if num >= 3 and num <= 6 and piece ~= "" then hl7["msh" .. num] = esc(piece:sub(1, 64)) end
          if num > 6 then break end
        end
      end
    end
  end
  flush_pdu(); flush_cmd(); flush_hl7()
  for _, line in ipairs(lines) do io.write(line, "\n") end
end

-- ---- HTTP and TLS handshakes -------------------------------------------------------------
-- HTTP: the Host and Server headers (cut to 128 characters) and whether an Authorization
-- header or a cookie was present; never their values, never a body or a query string.
-- TLS: the ServerHello's negotiated version and cipher suite (numbers only).
local f_http_host = Field.new("http.host")
local f_http_server = Field.new("http.server")
local f_http_auth = Field.new("http.authorization")
local f_http_cookie = Field.new("http.cookie")
local f_http_request = Field.new("http.request")
local f_hs_type = Field.new("tls.handshake.type")
local f_hs_version = Field.new("tls.handshake.version")
local f_hs_supported = Field.new("tls.handshake.extensions.supported_version")
local f_hs_cipher = Field.new("tls.handshake.ciphersuite")

local web_tap = Listener.new("frame", "http || tls.handshake.type == 2")

function web_tap.packet(pinfo, tvb)
  local host, server = f_http_host(), f_http_server()
  if f_http_request() ~= nil or server ~= nil then
    local parts = { head(pinfo, "http"), ',"request":', tostring(f_http_request() ~= nil) }
    if host ~= nil then parts[#parts + 1] = ',"host":' .. esc(tostring(host.value):sub(1, 128)) end
    if server ~= nil then parts[#parts + 1] = ',"server":' .. esc(tostring(server.value):sub(1, 128)) end
    parts[#parts + 1] = ',"authorization":' .. tostring(f_http_auth() ~= nil)
    parts[#parts + 1] = ',"cookie":' .. tostring(f_http_cookie() ~= nil) .. '}'
    io.write(table.concat(parts), "\n")
  end
  local types = { f_hs_type() }
  for _, ty in ipairs(types) do
    if ty.value == 2 then
      local version = f_hs_supported() or f_hs_version()
      local cipher = f_hs_cipher()
      -- The suite's IANA name from tshark's own table ("Cipher Suite: NAME (0x1302)").
      local name = cipher and tostring(cipher.display or ""):match("(TLS_[%w_]+)") or nil
      io.write(head(pinfo, "tls"), ',"version":', version and version.value or "null",
               ',"cipher":', cipher and cipher.value or "null",
               ',"cipher_name":', name and esc(name:sub(1, 64)) or "null", '}\n')
      break
    end
  end
end
