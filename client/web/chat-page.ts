/**
 * The browser chat page the local stack serves at `/` (bundled by local/chat-page.ts). It is only a view: the
 * client library does the protocol work — reconnecting, resuming rooms after the last seq, ordering, dropping
 * duplicates and retrying sends under the same clientMsgId.
 */
import type { AttachmentView } from '../../functions/domain/attachments.ts';
import { MAX_ATTACHMENTS, USER_ID_PATTERN } from '../../functions/domain/protocol-rules.ts';
import { parseS3Error, uploadForm } from '../attachments.ts';
import type { UploadGrant } from '../chat-client.ts';
import { ChatClient, type ChatClientError, type MessageView, type SendRetry, type StateChange } from '../index.ts';

/** Messages shown from before a join, so a room opens with context. */
const BACKLOG = 50;
/** There is no "stopped typing" event: a typing line stays this long after the user's last signal. */
const TYPING_SHOWN_MS = 4000;
const MAX_NOTICES = 5;

interface RoomView {
  readonly name: string;
  readonly tab: HTMLLIElement;
  readonly selectButton: HTMLButtonElement;
  readonly unreadBadge: HTMLSpanElement;
  /** Delivered messages in seq order, then this user's sends still waiting for their ack. */
  readonly section: HTMLElement;
  readonly log: HTMLOListElement;
  readonly outbox: HTMLOListElement;
  readonly members: Set<string>;
  /** Who is typing, each with the timer that ends their typing line. */
  readonly typing: Map<string, ReturnType<typeof setTimeout>>;
  unread: number;
}

function element<K extends keyof HTMLElementTagNameMap>(id: string, tag: K): HTMLElementTagNameMap[K] {
  const found = document.getElementById(id);
  if (!(found instanceof HTMLElement) || found.tagName.toLowerCase() !== tag) throw new Error(`the page has no <${tag} id="${id}">`);
  return found as HTMLElementTagNameMap[K];
}

function create<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function setting(name: string): string {
  const value = document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content;
  if (!value) throw new Error(`the page has no ${name} setting`);
  return value;
}

const stage = setting('wschat-stage');
const tokenPath = setting('wschat-token-path');
/** The stage's WebSocket URL on the host that served this page. */
const stageUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/${stage}`;

const ui = {
  signIn: element('sign-in', 'form'),
  user: element('user', 'input'),
  firstRoom: element('first-room', 'input'),
  signInError: element('sign-in-error', 'p'),
  session: element('session', 'div'),
  me: element('me', 'strong'),
  signOut: element('sign-out', 'button'),
  state: element('connection-state', 'span'),
  stateDetail: element('connection-detail', 'span'),
  chat: element('chat', 'div'),
  rooms: element('rooms', 'ul'),
  joinRoom: element('join-room', 'form'),
  roomName: element('room-name', 'input'),
  roomTitle: element('room-title', 'h2'),
  notices: element('notices', 'div'),
  log: element('log', 'div'),
  noRoom: element('no-room', 'p'),
  typing: element('typing', 'p'),
  composer: element('composer', 'form'),
  text: element('message-text', 'textarea'),
  people: element('people', 'ul'),
  attach: element('attach', 'button'),
  attachFile: element('attach-file', 'input'),
  uploads: element('uploads', 'ul'),
};

/** A file chosen for the next message: its upload's progress, then its id once the bucket has it. */
interface PendingUpload {
  readonly room: string;
  readonly item: HTMLLIElement;
  uploadId?: string;
  done: Promise<void>;
}
const pendingUploads: PendingUpload[] = [];
/** Download links are good for 5 minutes; a link older than this is asked for again before it is used. */
const LINK_REFRESH_MS = 4 * 60 * 1000;

let client: ChatClient | undefined;
let me = '';
let currentRoom: RoomView | undefined;
/** Why the current connection attempt failed before it had a socket (no token, no socket), if it did. */
let connectionTrouble: string | undefined;
const rooms = new Map<string, RoomView>();
/** This user's sends without an ack yet, by clientMsgId. */
const pendingSends = new Map<string, HTMLLIElement>();

async function fetchToken(user: string): Promise<string> {
  const response = await fetch(`${tokenPath}?user=${encodeURIComponent(user)}`, { cache: 'no-store' });
  const body = (await response.json()) as { token?: string; message?: string };
  if (!response.ok || !body.token) throw new Error(body.message ?? `token request failed with ${response.status}`);
  return body.token;
}

// ---- connection ------------------------------------------------------------------------------------------

function connect(user: string, firstRoom: string): void {
  me = user;
  const chat = new ChatClient({ url: stageUrl, token: () => fetchToken(user) });
  client = chat;
  chat.on('state', showState);
  chat.on('message', showMessage);
  chat.on('joined', (joined) => {
    const room = rooms.get(joined.room);
    if (!room) return;
    // Every (re-)join carries the room's members: the truth that presence events only hint at.
    room.members.clear();
    for (const member of joined.members) room.members.add(member);
    if (room === currentRoom) renderPeople();
  });
  chat.on('presence', (change) => {
    const room = rooms.get(change.room);
    if (!room) return;
    if (change.event === 'join') room.members.add(change.user);
    else room.members.delete(change.user);
    if (room === currentRoom) renderPeople();
  });
  chat.on('typing', (typing) => {
    const room = rooms.get(typing.room);
    if (!room) return;
    clearTimeout(room.typing.get(typing.user));
    room.typing.set(
      typing.user,
      setTimeout(() => stopTyping(room, typing.user), TYPING_SHOWN_MS),
    );
    if (room === currentRoom) renderTyping();
  });
  chat.on('sendRetry', showRetry);
  chat.on('error', (error) => {
    // Trouble reaching the stack shows next to the connection state, which says a retry is coming.
    if (error.code === 'CONNECTION') connectionTrouble = error.message;
    else notice(error);
  });

  ui.me.textContent = user;
  ui.signIn.hidden = true;
  ui.session.hidden = false;
  ui.chat.hidden = false;
  join(firstRoom);
  void chat.connect().catch(() => undefined);
  ui.text.focus();
}

function disconnect(): void {
  client?.close();
  client = undefined;
  for (const room of [...rooms.values()]) removeRoom(room);
  pendingSends.clear();
  pendingUploads.length = 0;
  ui.uploads.replaceChildren();
  ui.notices.replaceChildren();
  ui.chat.hidden = true;
  ui.session.hidden = true;
  ui.signIn.hidden = false;
  ui.user.focus();
}

function showState(change: StateChange): void {
  const labels: Record<StateChange['state'], string> = {
    idle: 'not connected',
    connecting: change.attempt && change.attempt > 1 ? `connecting (attempt ${change.attempt})…` : 'connecting…',
    open: 'connected',
    reconnecting: `reconnecting in ${((change.delayMs ?? 0) / 1000).toFixed(1)} s`,
    closed: 'disconnected',
  };
  ui.state.dataset.state = change.state;
  ui.chat.dataset.state = change.state;
  ui.state.textContent = labels[change.state];
  if (change.state === 'connecting') connectionTrouble = undefined;
  if (change.state === 'reconnecting') ui.stateDetail.textContent = connectionTrouble ?? `connection lost: ${change.reason ?? 'unknown reason'}`;
  else if (change.state === 'open' || change.state === 'closed') ui.stateDetail.textContent = '';
}

function notice(error: ChatClientError | Error): void {
  const text = 'code' in error ? `${String(error.code)}: ${error.message}` : error.message;
  const line = create('p');
  const dismiss = create('button', 'quiet', '×');
  dismiss.type = 'button';
  dismiss.setAttribute('aria-label', 'Dismiss');
  dismiss.addEventListener('click', () => line.remove());
  line.append(create('span', '', text), dismiss);
  ui.notices.append(line);
  while (ui.notices.children.length > MAX_NOTICES) ui.notices.firstElementChild?.remove();
}

// ---- rooms -----------------------------------------------------------------------------------------------

function join(name: string): void {
  if (!client) return;
  const existing = rooms.get(name);
  if (existing) return selectRoom(existing);
  const room = addRoom(name);
  selectRoom(room);
  client.join(name, { backlog: BACKLOG }).catch((error: ChatClientError) => {
    removeRoom(room);
    notice(error);
  });
}

function addRoom(name: string): RoomView {
  const tab = create('li');
  const selectButton = create('button', 'select-room', `# ${name}`);
  selectButton.type = 'button';
  const unreadBadge = create('span', 'unread');
  unreadBadge.hidden = true;
  selectButton.append(unreadBadge);
  const leaveButton = create('button', 'quiet', '×');
  leaveButton.type = 'button';
  leaveButton.title = `Leave ${name}`;
  leaveButton.setAttribute('aria-label', `Leave ${name}`);
  tab.dataset.room = name;
  tab.append(selectButton, leaveButton);
  ui.rooms.append(tab);

  const section = create('section');
  section.dataset.room = name;
  section.hidden = true;
  const log = create('ol', 'room-log');
  const outbox = create('ol', 'outbox');
  section.append(log, outbox);
  ui.log.append(section);

  const room: RoomView = { name, tab, selectButton, unreadBadge, section, log, outbox, members: new Set(), typing: new Map(), unread: 0 };
  rooms.set(name, room);
  selectButton.addEventListener('click', () => selectRoom(room));
  leaveButton.addEventListener('click', () => {
    removeRoom(room);
    client?.leave(name).catch((error: ChatClientError) => notice(error));
  });
  return room;
}

function removeRoom(room: RoomView): void {
  rooms.delete(room.name);
  room.tab.remove();
  room.section.remove();
  for (const timer of room.typing.values()) clearTimeout(timer);
  for (const item of room.outbox.children) pendingSends.delete((item as HTMLElement).dataset.clientMsgId ?? '');
  if (room === currentRoom) selectRoom(rooms.values().next().value);
}

function selectRoom(room: RoomView | undefined): void {
  currentRoom = room;
  for (const other of rooms.values()) {
    other.section.hidden = other !== room;
    other.selectButton.setAttribute('aria-current', String(other === room));
  }
  ui.noRoom.hidden = room !== undefined;
  // Files wait for the next message of the room they were chosen in.
  for (const upload of pendingUploads) upload.item.hidden = upload.room !== room?.name;
  ui.composer.hidden = room === undefined;
  ui.roomTitle.textContent = room ? `# ${room.name}` : 'No room';
  if (room) {
    room.unread = 0;
    room.unreadBadge.hidden = true;
    scrollToEnd();
    // Presence events are hints; `who` refreshes the list whenever a room is looked at again.
    client?.who(room.name).then(
      (members) => {
        room.members.clear();
        for (const member of members) room.members.add(member);
        if (room === currentRoom) renderPeople();
      },
      () => undefined,
    );
  }
  renderPeople();
  renderTyping();
}

function renderPeople(): void {
  const members = currentRoom ? [...currentRoom.members].sort() : [];
  ui.people.replaceChildren(
    ...members.map((member) => {
      const item = create('li', '', member);
      item.dataset.user = member;
      if (member === me) item.append(' ', create('span', 'you', '(you)'));
      return item;
    }),
  );
}

function stopTyping(room: RoomView, user: string): void {
  clearTimeout(room.typing.get(user));
  if (room.typing.delete(user) && room === currentRoom) renderTyping();
}

function renderTyping(): void {
  const typists = currentRoom ? [...currentRoom.typing.keys()].sort() : [];
  const names = new Intl.ListFormat('en', { type: 'conjunction' }).format(typists);
  ui.typing.textContent = typists.length === 0 ? '' : `${names} ${typists.length === 1 ? 'is' : 'are'} typing…`;
}

// ---- messages --------------------------------------------------------------------------------------------

function isScrolledToEnd(): boolean {
  return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 48;
}

function scrollToEnd(): void {
  ui.log.scrollTop = ui.log.scrollHeight;
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * An attachment: a download link (asked for again once it is old), and for a picture a thumbnail. Links come from
 * `download` replies, presigned for 5 minutes; the bucket serves pictures inline and everything else as a file.
 */
function attachmentItem(room: string, attachment: AttachmentView): HTMLLIElement {
  const item = create('li');
  item.dataset.attachmentId = attachment.id;
  const link = create('a', 'attachment-link', `${attachment.fileName} (${formatSize(attachment.size)})`);
  link.href = '#';
  link.rel = 'noopener';
  link.target = '_blank';
  item.append(link);
  let fetchedAt = 0;
  const refresh = async () => {
    if (!client) return;
    const { url } = await client.download(room, attachment.id);
    fetchedAt = Date.now();
    link.href = url;
    const thumbnail = item.querySelector('img');
    if (thumbnail) thumbnail.src = url;
  };
  if (attachment.contentType.startsWith('image/')) {
    const thumbnail = create('img', 'thumbnail');
    thumbnail.alt = attachment.fileName;
    item.prepend(thumbnail);
  }
  link.addEventListener('click', (event) => {
    if (Date.now() - fetchedAt < LINK_REFRESH_MS) return;
    event.preventDefault();
    void refresh().then(() => window.open(link.href, '_blank', 'noopener'), (error: ChatClientError) => notice(error));
  });
  void refresh().catch((error: ChatClientError) => notice(error));
  return item;
}

function messageItem(user: string, text: string, ts: number | undefined): HTMLLIElement {
  const item = create('li', user === me ? 'message own' : 'message');
  item.dataset.user = user;
  const meta = create('div', 'meta');
  meta.append(create('span', 'author', user));
  if (ts !== undefined) {
    const time = create('time', '', new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    time.dateTime = new Date(ts).toISOString();
    meta.append(time);
  }
  item.append(meta, create('p', 'text', text));
  return item;
}

/** The library hands over each message once and in seq order per room, so appending keeps the log right. */
function showMessage(message: MessageView): void {
  const room = rooms.get(message.room);
  if (!room) return;
  const follow = room === currentRoom && isScrolledToEnd();
  const item = messageItem(message.user, message.text, message.ts);
  item.dataset.seq = String(message.seq);
  if (message.attachments?.length) {
    const list = create('ul', 'attachments');
    list.append(...message.attachments.map((attachment) => attachmentItem(message.room, attachment)));
    item.append(list);
  }
  room.log.append(item);
  stopTyping(room, message.user);
  if (room !== currentRoom) {
    room.unread++;
    room.unreadBadge.textContent = String(room.unread);
    room.unreadBadge.hidden = false;
  } else if (follow) {
    scrollToEnd();
  }
}

/**
 * Uploads a chosen file straight to the bucket with the presigned POST the service grants, showing its progress
 * (XMLHttpRequest: fetch reports no upload progress). The file goes with the next message sent in that room.
 */
function startUpload(room: string, file: File): void {
  if (!client) return;
  const chat = client;
  const item = create('li');
  item.dataset.state = 'uploading';
  item.dataset.fileName = file.name;
  const progress = create('progress');
  progress.max = 1;
  progress.value = 0;
  const remove = create('button', 'quiet', '×');
  remove.type = 'button';
  remove.setAttribute('aria-label', `Remove ${file.name}`);
  item.append(create('span', '', file.name), progress, remove);
  ui.uploads.append(item);
  const upload: PendingUpload = { room, item, done: Promise.resolve() };
  remove.addEventListener('click', () => {
    pendingUploads.splice(pendingUploads.indexOf(upload), 1);
    item.remove();
  });
  pendingUploads.push(upload);
  upload.done = chat
    .requestUpload(room, { fileName: file.name, contentType: file.type || 'application/octet-stream', size: file.size })
    .then(
      (grant) =>
        post(grant, file, (fraction) => (progress.value = fraction)).then(() => {
          upload.uploadId = grant.uploadId;
          item.dataset.state = 'uploaded';
          progress.value = 1;
        }),
    )
    .catch((error: Error) => {
      item.dataset.state = 'failed';
      progress.remove();
      item.title = 'code' in error ? `${String(error.code)}: ${error.message}` : error.message;
      item.insertBefore(create('span', 'status', `not uploaded — ${item.title}`), remove);
    });
}

function post(grant: UploadGrant, file: File, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', grant.url);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener('load', () =>
      request.status >= 200 && request.status < 300 ? resolve() : reject(parseS3Error(request.status, request.responseText)),
    );
    request.addEventListener('error', () => reject(new Error('the upload could not reach the bucket')));
    request.send(uploadForm(grant, file, file.name));
  });
}

/** The room's uploads, once every one has finished; failed ones stay in the list, explained, and are left out. */
async function takeUploads(room: string): Promise<string[]> {
  const mine = pendingUploads.filter((u) => u.room === room);
  await Promise.all(mine.map((u) => u.done));
  const ready = mine.filter((u) => u.uploadId !== undefined);
  for (const upload of ready) {
    pendingUploads.splice(pendingUploads.indexOf(upload), 1);
    upload.item.remove();
  }
  return ready.map((u) => u.uploadId as string);
}

function send(text: string): void {
  if (!client || !currentRoom) return;
  const room = currentRoom;
  if (pendingUploads.some((u) => u.room === room.name)) {
    const chat = client;
    void takeUploads(room.name).then((attachments) => {
      if (text.trim() !== '' || attachments.length) sendMessage(chat, room, text, attachments);
    });
    return;
  }
  sendMessage(client, room, text, []);
}

function sendMessage(chat: ChatClient, room: RoomView, text: string, attachments: string[]): void {
  const clientMsgId = crypto.randomUUID();
  const item = messageItem(me, text, undefined);
  item.classList.add('pending');
  item.dataset.clientMsgId = clientMsgId;
  const status = create('span', 'status', 'sending…');
  item.querySelector('.meta')?.append(status);
  room.outbox.append(item);
  pendingSends.set(clientMsgId, item);
  scrollToEnd();
  chat.send(room.name, text, { clientMsgId, ...(attachments.length ? { attachments } : {}) }).then(
    // The message itself is in the log by now: the sender gets its message frame before the ack.
    () => {
      pendingSends.delete(clientMsgId);
      item.remove();
    },
    (error: ChatClientError) => {
      pendingSends.delete(clientMsgId);
      item.classList.replace('pending', 'failed');
      status.textContent = `not sent — ${error.code}: ${error.message}`;
      const dismiss = create('button', 'quiet', '×');
      dismiss.type = 'button';
      dismiss.setAttribute('aria-label', 'Dismiss');
      dismiss.addEventListener('click', () => item.remove());
      item.querySelector('.meta')?.append(dismiss);
    },
  );
}

function showRetry(retry: SendRetry): void {
  const item = pendingSends.get(retry.clientMsgId);
  const status = item?.querySelector('.status');
  if (!item || !status) return;
  item.classList.add('retrying');
  const wait = retry.delayMs >= 1000 ? ` in ${(retry.delayMs / 1000).toFixed(1)} s` : '';
  status.textContent = `retrying${wait} — ${retry.error.code}: ${retry.error.message}`;
}

// ---- input -----------------------------------------------------------------------------------------------

ui.signIn.addEventListener('submit', (event) => {
  event.preventDefault();
  const user = ui.user.value.trim();
  const room = ui.firstRoom.value.trim();
  if (!USER_ID_PATTERN.test(user)) {
    ui.signInError.textContent = 'A user name starts with a letter or digit and has only letters, digits and _ . @ : -';
    return;
  }
  ui.signInError.textContent = '';
  connect(user, room);
});

ui.signOut.addEventListener('click', disconnect);

// Back online: reconnect at once instead of waiting out a backoff that grew while the network was down.
window.addEventListener('online', () => client?.reconnectNow());

ui.joinRoom.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = ui.roomName.value.trim();
  if (!name) return;
  ui.roomName.value = '';
  join(name);
});

ui.attach.addEventListener('click', () => ui.attachFile.click());

ui.attachFile.addEventListener('change', () => {
  const room = currentRoom;
  const files = [...(ui.attachFile.files ?? [])];
  ui.attachFile.value = '';
  if (!room) return;
  const roomUploads = pendingUploads.filter((u) => u.room === room.name).length;
  const allowed = files.slice(0, Math.max(0, MAX_ATTACHMENTS - roomUploads));
  if (allowed.length < files.length) notice(new Error(`a message carries at most ${MAX_ATTACHMENTS} files`));
  for (const file of allowed) startUpload(room.name, file);
});

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.text.value;
  if (text.trim() === '' && !pendingUploads.some((u) => u.room === currentRoom?.name)) return;
  ui.text.value = '';
  send(text);
});

ui.text.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

// Every keystroke may signal typing: the library sends at most one per room every 2 s.
ui.text.addEventListener('input', () => {
  if (currentRoom && ui.text.value.trim() !== '') client?.typing(currentRoom.name);
});
