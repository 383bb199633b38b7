/*
 * Agent Auth admin page. Signs the admin in to this realm with the public client "agent-auth-admin"
 * (Authorization Code + PKCE S256), keeps the tokens in memory only, and edits agent policies through
 * /admin/realms/{realm}/agent-auth/agents, connectors through /admin/realms/{realm}/agent-auth/connectors, and clients
 * without registration (client ID metadata documents) through /admin/realms/{realm}/agent-auth/cimd.
 * Every text that comes from the server is set with textContent.
 */
(function () {
  'use strict';

  var CLIENT_ID = 'agent-auth-admin';
  var PKCE_KEY = 'agent-auth-admin.pkce';
  var STANDARD_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'];

  var match = location.pathname.match(/^(.*)\/realms\/([^/]+)\/agent-auth\/admin\/$/);
  var query = new URLSearchParams(location.search);
  var base = match ? location.origin + match[1] : '';
  var loginRealm = match ? decodeURIComponent(match[2]) : '';
  var targetRealm = query.get('realm') || loginRealm;
  var pageUrl = location.origin + location.pathname;
  var oidc = base + '/realms/' + encodeURIComponent(loginRealm) + '/protocol/openid-connect';
  var tokens = null;
  var area = 'agents'; // which part of the page is shown: agents, connectors or cimd

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, attrs) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else if (k.indexOf('on') === 0) e.addEventListener(k.slice(2), v);
      else if (k === 'checked' || k === 'value' || k === 'disabled') e[k] = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    });
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }

  function append(parent, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(parent, c); }); return; }
    parent.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }

  function $(id) { return document.getElementById(id); }

  function show(node) {
    var view = $('view');
    view.replaceChildren(node);
  }

  function notice(kind, text) {
    var n = $('notice');
    n.replaceChildren();
    if (text) n.append(el('div', { class: 'alert alert-' + kind, text: text }));
  }

  function fail(text) {
    notice('danger', text);
    show(el('p', { class: 'muted', text: '' }));
  }

  // ---------------------------------------------------------------- sign-in (PKCE)

  function b64url(bytes) {
    var s = '';
    bytes.forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function random(n) { return b64url(crypto.getRandomValues(new Uint8Array(n))); }

  async function signIn() {
    if (!window.crypto || !crypto.subtle) {
      fail('This page needs the browser\'s Web Crypto API for a secure sign-in: open it over HTTPS (or on localhost).');
      return;
    }
    var verifier = random(32);
    var digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    var state = random(16);
    var nonce = random(16);
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier: verifier, state: state, nonce: nonce, realm: targetRealm, hash: location.hash }));
    var p = new URLSearchParams({
      client_id: CLIENT_ID, redirect_uri: pageUrl, response_type: 'code', scope: 'openid',
      state: state, nonce: nonce, code_challenge: b64url(new Uint8Array(digest)), code_challenge_method: 'S256'
    });
    location.assign(oidc + '/auth?' + p.toString());
  }

  function claims(jwt) {
    try {
      var part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      var json = decodeURIComponent(Array.prototype.map.call(atob(part), function (c) {
        return '%' + ('00' + c.charCodeAt(0).toString(16)).slice(-2);
      }).join(''));
      return JSON.parse(json);
    } catch (e) {
      return {};
    }
  }

  function keep(t) {
    tokens = {
      access: t.access_token,
      refresh: t.refresh_token || (tokens && tokens.refresh),
      idToken: t.id_token || (tokens && tokens.idToken),
      expiresAt: Date.now() + (t.expires_in || 60) * 1000
    };
  }

  async function tokenRequest(params) {
    var r = await fetch(oidc + '/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString()
    });
    var data = await r.json().catch(function () { return {}; });
    if (!r.ok) throw new Error('Sign-in failed: ' + (data.error_description || data.error || ('HTTP ' + r.status)));
    return data;
  }

  async function completeSignIn() {
    var saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null'); } catch (e) { saved = null; }
    sessionStorage.removeItem(PKCE_KEY);
    if (query.get('error')) {
      throw new Error('Sign-in failed: ' + (query.get('error_description') || query.get('error')));
    }
    if (!saved || saved.state !== query.get('state')) {
      throw new Error('Sign-in failed: the answer does not match this page\'s request. Reload the page to sign in again.');
    }
    var t = await tokenRequest({
      grant_type: 'authorization_code', code: query.get('code'), redirect_uri: pageUrl,
      client_id: CLIENT_ID, code_verifier: saved.verifier
    });
    if (t.id_token && claims(t.id_token).nonce !== saved.nonce) {
      throw new Error('Sign-in failed: unexpected ID token. Reload the page to sign in again.');
    }
    keep(t);
    targetRealm = saved.realm || loginRealm;
    history.replaceState(null, '', ownUrl() + (saved.hash || ''));
  }

  function ownUrl() {
    return pageUrl + (targetRealm !== loginRealm ? '?realm=' + encodeURIComponent(targetRealm) : '');
  }

  async function accessToken() {
    if (tokens && tokens.expiresAt - Date.now() > 20000) return tokens.access;
    if (tokens && tokens.refresh) {
      try {
        keep(await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh, client_id: CLIENT_ID }));
        return tokens.access;
      } catch (e) { /* fall through to a new sign-in */ }
    }
    await signIn();
    throw new Error('Signing in again…');
  }

  function signOut() {
    var p = new URLSearchParams({ client_id: CLIENT_ID, post_logout_redirect_uri: ownUrl() });
    if (tokens && tokens.idToken) p.set('id_token_hint', tokens.idToken);
    tokens = null;
    location.assign(oidc + '/logout?' + p.toString());
  }

  // ---------------------------------------------------------------- admin REST

  function describe(status, data) {
    if (data && data.errorMessage) return data.errorMessage;
    if (data && (data.error_description || data.error)) return data.error_description || data.error;
    if (status === 401) return 'Your session has ended. Reload the page to sign in again.';
    if (status === 403) return 'You do not have permission for this in realm "' + targetRealm + '". '
        + (area === 'connectors'
          ? 'Connectors need the realm-management roles view-realm (to see them) and manage-realm (to change or test them).'
          : area === 'cimd'
          ? 'The settings need view-realm and manage-realm; the clients view-clients and manage-clients.'
          : 'It needs the realm-management roles view-clients and manage-clients (view-users and manage-users for grants).');
    if (status === 404) return 'Not found.';
    return 'The request failed (HTTP ' + status + ').';
  }

  async function request(method, url, body) {
    var headers = { Authorization: 'Bearer ' + await accessToken(), Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    var r = await fetch(url, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) });
    var text = await r.text();
    var data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!r.ok) {
      var err = new Error(describe(r.status, data));
      err.status = r.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  function api(method, path, body) {
    return request(method, base + '/admin/realms/' + encodeURIComponent(targetRealm) + path, body);
  }

  function enc(s) { return encodeURIComponent(s); }

  var PAGE = 500; // the agents list answers at most 500 clients a call

  /** Every client the admin may view, page by page, ordered by client ID (ignoring case). */
  async function allClients() {
    var all = [];
    for (var first = 0; ; first += PAGE) {
      var page = await api('GET', '/agent-auth/agents?first=' + first + '&max=' + PAGE);
      all = all.concat(page);
      if (page.length < PAGE) break;
    }
    return all.sort(function (a, b) { return a.clientId.localeCompare(b.clientId, undefined, { sensitivity: 'base' }); });
  }

  // ---------------------------------------------------------------- views

  var pendingNotice = null; // shown once by the next route(), e.g. "Saved" after leaving a form

  async function route() {
    notice();
    if (pendingNotice) { notice(pendingNotice[0], pendingNotice[1]); pendingNotice = null; }
    var m = location.hash.match(/^#\/clients\/(.+)$/);
    var cm = location.hash.match(/^#\/connectors\/(.+)$/);
    var connectors = /^#\/(connectors|new-connector)/.test(location.hash);
    var cimd = location.hash === '#/cimd';
    area = connectors ? 'connectors' : cimd ? 'cimd' : 'agents';
    $('tab-agents').setAttribute('aria-current', area === 'agents' ? 'page' : 'false');
    $('tab-connectors').setAttribute('aria-current', connectors ? 'page' : 'false');
    $('tab-cimd').setAttribute('aria-current', cimd ? 'page' : 'false');
    document.title = (connectors ? 'Connectors' : cimd ? 'Clients without registration' : 'Agents') + ' · Agent Auth';
    try {
      if (cimd) await cimdView();
      else if (m) await agentView(decodeURIComponent(m[1]));
      else if (cm) await connectorView(decodeURIComponent(cm[1]));
      else if (location.hash === '#/new-connector') await connectorView(null);
      else if (connectors) await connectorsView();
      else await listView();
    } catch (e) {
      if (e.message !== 'Signing in again…') fail(e.message);
    }
    var h = $('view').querySelector('h1');
    if (h) { h.setAttribute('tabindex', '-1'); h.focus({ preventScroll: true }); }
  }

  function typeOf(c) {
    if (c.bearerOnly) return 'Bearer-only';
    if (c.publicClient) return 'Public';
    return c.serviceAccountsEnabled ? 'Confidential, service account' : 'Confidential';
  }

  /** Keycloak's built-in clients carry a message key as name, e.g. ${client_account}. */
  function builtIn(c) { return /^\$\{.*\}$/.test(c.name || ''); }

  function displayName(c) { return builtIn(c) ? 'Keycloak built-in' : (c.name || ''); }

  function agentBadge(c) {
    return c.agent ? el('span', { class: 'badge badge-agent', text: 'Agent' }) : null;
  }

  async function listView() {
    show(el('p', { class: 'muted', text: 'Loading clients…' }));
    var clients = await allClients();
    var search = el('input', { type: 'search', id: 'client-search', placeholder: 'Filter by client ID or name', 'aria-label': 'Filter clients' });
    var agentsOnly = el('input', { type: 'checkbox', id: 'agents-only', role: 'switch' });
    var tbody = el('tbody');

    function fill() {
      var q = search.value.trim().toLowerCase();
      tbody.replaceChildren();
      clients.filter(function (c) {
        return (!agentsOnly.checked || c.agent)
            && (!q || c.clientId.toLowerCase().indexOf(q) >= 0 || displayName(c).toLowerCase().indexOf(q) >= 0);
      }).forEach(function (c) {
        tbody.append(el('tr', { 'data-client-id': c.clientId },
          el('td', null, el('a', { href: '#/clients/' + enc(c.clientId), class: 'client-link', text: c.clientId })),
          el('td', { class: builtIn(c) ? 'muted' : null, text: displayName(c) }),
          el('td', { text: typeOf(c) }),
          el('td', null, agentBadge(c) || el('span', { class: 'muted', text: '—' })),
          el('td', { text: c.enabled ? 'Enabled' : 'Disabled' })));
      });
      if (!tbody.children.length) {
        tbody.append(el('tr', null, el('td', { colspan: '5', class: 'muted', text: 'No clients match.' })));
      }
    }
    search.addEventListener('input', fill);
    agentsOnly.addEventListener('change', fill);
    fill();

    show(el('div', null,
      el('h1', { text: 'Agents' }),
      el('p', { class: 'lead', text: 'Clients of realm "' + targetRealm + '". Open a client to mark it as an agent and set what it may do on behalf of users.' }),
      el('div', { class: 'card' },
        el('div', { class: 'toolbar' }, search,
          el('label', { class: 'switch', for: 'agents-only' }, agentsOnly, el('span', { class: 'switch-text', text: 'Agents only' }))),
        el('table', { id: 'clients' },
          el('caption', { class: 'skip-link', text: 'Clients' }),
          el('thead', null, el('tr', null,
            el('th', { scope: 'col', text: 'Client ID' }), el('th', { scope: 'col', text: 'Name' }),
            el('th', { scope: 'col', text: 'Type' }), el('th', { scope: 'col', text: 'Agent' }),
            el('th', { scope: 'col', text: 'Status' }))),
          tbody))));
  }

  function checkGrid(name, options, selected) {
    var grid = el('div', { class: 'check-grid' });
    options.forEach(function (o, i) {
      var id = 'f-' + name + '-' + i;
      grid.append(el('label', { class: 'check', for: id },
        el('input', { type: 'checkbox', id: id, name: name, value: o.value, checked: selected.indexOf(o.value) >= 0 }),
        el('span', null, o.value, o.hint ? el('small', { text: o.hint }) : null)));
    });
    if (!options.length) grid.append(el('p', { class: 'muted', text: 'Nothing to choose from in this realm.' }));
    return grid;
  }

  function checked(form, name) {
    return Array.prototype.filter.call(form.querySelectorAll('input[name="' + name + '"]'), function (i) { return i.checked; })
      .map(function (i) { return i.value; });
  }

  function words(s) { return s.split(/[\s,]+/).filter(function (w) { return w; }); }

  function union(a, b) {
    var out = a.slice();
    b.forEach(function (x) { if (out.indexOf(x) < 0) out.push(x); });
    return out;
  }

  function duration(seconds) {
    if (!seconds) return 'Grants last until the user or an admin revokes them.';
    var d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
    var parts = [];
    if (d) parts.push(d + (d === 1 ? ' day' : ' days'));
    if (h) parts.push(h + (h === 1 ? ' hour' : ' hours'));
    if (m) parts.push(m + (m === 1 ? ' minute' : ' minutes'));
    return 'Grants expire after ' + (parts.length ? parts.join(' ') : seconds + ' seconds') + '.';
  }

  function section(id, legend, help, body) {
    return el('fieldset', { id: 'fs-' + id, 'aria-describedby': 'err-' + id },
      el('legend', { text: legend }),
      help ? el('p', { class: 'help', text: help }) : null,
      body,
      el('p', { class: 'field-error', id: 'err-' + id }));
  }

  function switchField(id, label, value, help) {
    return el('div', { class: 'switch-row' },
      el('label', { class: 'switch', for: id },
        el('input', { type: 'checkbox', role: 'switch', id: id, checked: !!value }),
        el('span', { class: 'switch-text', text: label })),
      help ? el('p', { class: 'help', text: help }) : null);
  }

  function link(uri) {
    if (!uri) return el('span', { class: 'muted', text: 'Not set' });
    return /^https?:\/\//i.test(uri) ? el('a', { href: uri, rel: 'noopener noreferrer', target: '_blank', text: uri }) : el('span', { text: uri });
  }

  async function agentView(clientId) {
    show(el('p', { class: 'muted', text: 'Loading ' + clientId + '…' }));
    var results = await Promise.all([
      api('GET', '/agent-auth/agents/' + enc(clientId)),
      allClients(),
      api('GET', '/client-scopes').catch(function () { return []; })
    ]);
    var c = results[0], clients = results[1], scopes = results[2];
    var p = c.policy;
    var others = clients.filter(function (x) { return x.clientId !== c.clientId; });
    // Keycloak's own clients and this page's client are offered only where already chosen
    var candidates = function (selected) {
      return others.filter(function (x) {
        return (!builtIn(x) && x.clientId !== CLIENT_ID) || selected.indexOf(x.clientId) >= 0;
      });
    };
    var clientIds = clients.map(function (x) { return x.clientId; });

    // the extension's own delegation:client:<agent> scopes are not scopes an agent can be allowed
    var scopeOptions = union(scopes.filter(function (s) { return s.protocol !== 'saml' && s.name.indexOf('delegation:client:') !== 0; })
      .map(function (s) { return s.name; }), STANDARD_SCOPES);
    scopeOptions = union(scopeOptions, p.allowedScopes).sort();
    var hostOptions = candidates(p.allowedHosts).filter(function (x) { return !x.bearerOnly; }).map(function (x) {
      return { value: x.clientId, hint: displayName(x) || typeOf(x) };
    });
    union(hostOptions.map(function (o) { return o.value; }), p.allowedHosts).forEach(function (v, i) {
      if (i >= hostOptions.length) hostOptions.push({ value: v, hint: 'not a client of this realm' });
    });
    var audienceClients = p.allowedAudiences.filter(function (a) { return clientIds.indexOf(a) >= 0; });
    var resources = p.allowedAudiences.filter(function (a) { return clientIds.indexOf(a) < 0; });
    var downstreamOptions = others.filter(function (x) { return x.agent || p.downstreamAgents.indexOf(x.clientId) >= 0; })
      .map(function (x) { return { value: x.clientId, hint: x.agent ? (x.name || 'agent') : 'not marked as an agent' }; });

    var form = el('form', { id: 'policy-form', novalidate: true },
      el('div', { id: 'form-errors', class: 'alert alert-danger', role: 'alert' }),
      section('agent', 'Agent', null, switchField('f-agent', 'This client is an agent', p.agent,
        'An agent is a confidential client with a service account; users delegate to it through host apps.')),
      section('allowedScopes', 'Allowed scopes',
        'The ceiling: a token delegated to this agent never carries a scope outside this list.',
        checkGrid('allowedScopes', scopeOptions.map(function (s) { return { value: s }; }), p.allowedScopes)),
      section('allowedHosts', 'Allowed host clients',
        'The applications (chat apps, MCP clients) that may ask a user to delegate to this agent.',
        checkGrid('allowedHosts', hostOptions, p.allowedHosts)),
      section('allowedAudiences', 'Allowed audiences and resources',
        'Clients, and resource URIs (RFC 8707, e.g. an MCP server), the agent\'s delegated tokens may be issued for.',
        [checkGrid('allowedAudiences', candidates(audienceClients).map(function (x) { return { value: x.clientId, hint: displayName(x) }; }), audienceClients),
          el('div', { class: 'field', style: null },
            el('label', { for: 'f-resources', text: 'Resource URIs, one per line' }),
            el('textarea', { id: 'f-resources', rows: '2', spellcheck: 'false', value: resources.join('\n') }))]),
      section('downstreamAgents', 'Downstream agents',
        'Agents this agent may hand a delegation on to (agent chains).',
        checkGrid('downstreamAgents', downstreamOptions, p.downstreamAgents)),
      section('allowedConnectors', 'Allowed connectors',
        'Aliases of the upstream connectors (vault) this agent may use, separated by spaces.',
        el('div', { class: 'field' },
          el('label', { for: 'f-connectors', text: 'Connector aliases' }),
          el('input', { type: 'text', id: 'f-connectors', spellcheck: 'false', value: p.allowedConnectors.join(' ') }))),
      section('limits', 'Limits', null,
        el('div', { class: 'row' },
          el('div', { class: 'field' },
            el('label', { for: 'f-maxDepth', text: 'Max delegation depth' }),
            el('input', { type: 'number', id: 'f-maxDepth', min: '1', max: '10', step: '1', value: String(p.maxDepth), 'aria-describedby': 'help-maxDepth' }),
            el('span', { class: 'help', id: 'help-maxDepth', text: 'Levels of act claims in a token naming this agent (1 to 10).' })),
          el('div', { class: 'field' },
            el('label', { for: 'f-grantLifetime', text: 'Grant lifetime (seconds)' }),
            el('input', { type: 'number', id: 'f-grantLifetime', min: '0', step: '1', value: String(p.grantLifetime), 'aria-describedby': 'help-grantLifetime' }),
            el('span', { class: 'help', id: 'help-grantLifetime', text: duration(p.grantLifetime) })))),
      section('resourceUris', 'Resource server (RFC 8707)',
        'Mark this client as a resource server, e.g. an MCP server: clients may then send one of its URIs as resource, and the token\'s aud is that URI.',
        [el('div', { class: 'field' },
          el('label', { for: 'f-resourceUris', text: 'Resource URIs, one per line' }),
          el('textarea', { id: 'f-resourceUris', rows: '2', spellcheck: 'false', value: (p.resourceUris || []).join('\n') })),
        el('p', { class: 'help', text: 'Clients that may ask for these resources (none checked and no host below: any client of the realm).' }),
        checkGrid('resourceClients', candidates(p.resourceClients || []).filter(function (x) { return !x.bearerOnly; })
          .map(function (x) { return { value: x.clientId, hint: displayName(x) || typeOf(x) }; }), p.resourceClients || []),
        // clients without registration (CIMD) are named by the host of their metadata document: cimd:<host>, cimd:*.<suffix>
        el('div', { class: 'field' },
          el('label', { for: 'f-resourceCimdHosts', text: 'Clients without registration: their document hosts, one per line (app.example.com or *.example.com)' }),
          el('textarea', { id: 'f-resourceCimdHosts', rows: '2', spellcheck: 'false', value: (p.resourceClients || [])
            .filter(function (x) { return x.indexOf('cimd:') === 0; }).map(function (x) { return x.substring(5); }).join('\n') }))]),
      section('tokens', 'Tokens and consent', null, [
        switchField('f-refreshAllowed', 'Refresh tokens allowed', p.refreshAllowed,
          'Delegated tokens for this agent come with a refresh token.'),
        switchField('f-preauthorized', 'Pre-authorized', p.preauthorized,
          'Grants are created without showing the consent screen; they are still recorded and revocable.')]),
      el('div', { class: 'actions-bar' },
        el('button', { type: 'submit', id: 'save', class: 'btn btn-primary', text: 'Save' }),
        el('span', { id: 'save-status', class: 'save-status', role: 'status' }),
        el('button', { type: 'button', id: 'reset', class: 'btn btn-link', text: 'Revert changes', onclick: function () { route(); } })));

    var lifetime = form.querySelector('#f-grantLifetime');
    lifetime.addEventListener('input', function () {
      var v = Number(lifetime.value);
      $('help-grantLifetime').textContent = lifetime.value === '' || isNaN(v) ? 'Seconds; 0 means until revoked.' : duration(v);
    });

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      save(form, c, clientIds);
    });

    var grants = el('div', { id: 'grants' }, el('p', { class: 'muted', text: 'Loading grants…' }));
    var warn = !c.agentCapable
      ? el('div', { class: 'alert alert-warning', text: 'This client cannot be an agent as it is: an agent must be a confidential client with service accounts enabled (Keycloak admin console, client settings).' })
      : null;

    show(el('div', null,
      el('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
        el('a', { href: '#', text: 'Agents' }), el('span', { 'aria-hidden': 'true', text: '›' }), c.clientId),
      el('h1', null, c.name || c.clientId, c.agent ? el('span', { class: 'badge badge-agent', id: 'agent-badge', text: 'Agent' }) : null),
      el('p', { class: 'lead', text: c.name ? c.clientId : typeOf(c) }),
      warn,
      el('div', { class: 'grid-2' },
        el('div', { class: 'card' }, el('h2', { text: 'Agent policy' }), form),
        el('div', null,
          el('div', { class: 'card' },
            el('h2', { text: 'Identity' }),
            el('p', { class: 'help', text: 'Shown to users on consent screens. Edit it in the client\'s settings in the Keycloak admin console.' }),
            el('dl', { class: 'identity' },
              el('dt', { text: 'Client ID' }), el('dd', { text: c.clientId }),
              el('dt', { text: 'Name' }), el('dd', null, c.name ? c.name : el('span', { class: 'muted', text: 'Not set' })),
              el('dt', { text: 'Description' }), el('dd', null, c.description ? c.description : el('span', { class: 'muted', text: 'Not set' })),
              el('dt', { text: 'Logo URI' }), el('dd', null, link(c.logoUri)),
              el('dt', { text: 'Policy URI' }), el('dd', null, link(c.policyUri)),
              el('dt', { text: 'Type' }), el('dd', { text: typeOf(c) }))))),
      el('div', { class: 'card' }, el('h2', { text: 'Delegation grants to this agent' }), grants)));

    loadGrants(c, grants);
  }

  function clearErrors(form) {
    $('form-errors').replaceChildren();
    form.querySelectorAll('fieldset').forEach(function (f) { f.classList.remove('invalid'); });
    form.querySelectorAll('.field-error').forEach(function (p) { p.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach(function (i) { i.removeAttribute('aria-invalid'); });
  }

  var FIELD_SECTION = { maxDepth: 'limits', grantLifetime: 'limits', refreshAllowed: 'tokens', preauthorized: 'tokens', resourceClients: 'resourceUris' };
  var FIELD_INPUT = { maxDepth: 'f-maxDepth', grantLifetime: 'f-grantLifetime', allowedConnectors: 'f-connectors', resourceUris: 'f-resourceUris' };

  function showErrors(form, err) {
    var list = (err.data && err.data.errors && err.data.errors.length) ? err.data.errors : [{ field: err.data && err.data.field, errorMessage: err.message }];
    var box = $('form-errors');
    box.replaceChildren(el('strong', { text: 'The policy was not saved.' }),
      el('ul', null, list.map(function (e) { return el('li', { text: e.errorMessage }); })));
    list.forEach(function (e) {
      if (!e.field) return;
      var sec = FIELD_SECTION[e.field] || e.field;
      var fs = $('fs-' + sec), msg = $('err-' + sec);
      if (fs) fs.classList.add('invalid');
      if (msg) msg.textContent = (msg.textContent ? msg.textContent + ' ' : '') + e.errorMessage;
      if (FIELD_INPUT[e.field] && $(FIELD_INPUT[e.field])) $(FIELD_INPUT[e.field]).setAttribute('aria-invalid', 'true');
    });
    box.scrollIntoView({ block: 'nearest' });
  }

  function number(id) {
    var v = $(id).value.trim();
    return v === '' ? null : Number(v);
  }

  async function save(form, c, clientIds) {
    clearErrors(form);
    notice();
    $('save-status').textContent = '';
    var audiences = checked(form, 'allowedAudiences').concat(words($('f-resources').value));
    var body = {
      agent: $('f-agent').checked,
      allowedScopes: checked(form, 'allowedScopes'),
      allowedHosts: checked(form, 'allowedHosts'),
      allowedAudiences: audiences,
      allowedConnectors: words($('f-connectors').value),
      downstreamAgents: checked(form, 'downstreamAgents'),
      maxDepth: number('f-maxDepth'),
      grantLifetime: number('f-grantLifetime'),
      refreshAllowed: $('f-refreshAllowed').checked,
      preauthorized: $('f-preauthorized').checked,
      resourceUris: words($('f-resourceUris').value),
      resourceClients: checked(form, 'resourceClients').concat(words($('f-resourceCimdHosts').value).map(function (h) { return 'cimd:' + h; }))
    };
    var button = $('save');
    button.disabled = true;
    button.textContent = 'Saving…';
    try {
      var saved = await api('PUT', '/agent-auth/agents/' + enc(c.clientId), body);
      notice('success', 'Saved the agent policy of ' + saved.clientId + '.');
      $('save-status').className = 'save-status';
      $('save-status').textContent = 'Saved.';
      var h1 = $('view').querySelector('h1');
      var badge = $('agent-badge');
      if (saved.agent && !badge) h1.append(el('span', { class: 'badge badge-agent', id: 'agent-badge', text: 'Agent' }));
      if (!saved.agent && badge) badge.remove();
    } catch (e) {
      if (e.status === 400) {
        showErrors(form, e);
        $('save-status').className = 'save-status save-error';
        $('save-status').textContent = 'Not saved: see the errors above.';
      }
      else if (e.message !== 'Signing in again…') notice('danger', e.message);
    } finally {
      button.disabled = false;
      button.textContent = 'Save';
    }
  }

  function when(ms) { return ms ? new Date(ms).toLocaleString() : ''; }

  async function loadGrants(c, box) {
    var grants;
    try {
      grants = await api('GET', '/agent-auth/delegations?agent=' + enc(c.clientId));
    } catch (e) {
      box.replaceChildren(el('p', { class: 'muted', text: e.status === 403
        ? 'Grants are hidden: listing them needs the realm-management role view-users.' : e.message }));
      return;
    }
    if (!grants.length) {
      box.replaceChildren(el('p', { class: 'muted', id: 'no-grants', text: 'No user has delegated to this agent.' }));
      return;
    }
    var names = {};
    await Promise.all(grants.map(function (g) { return g.userId; }).filter(function (id, i, all) { return all.indexOf(id) === i; })
      .map(function (id) {
        return api('GET', '/users/' + enc(id)).then(function (u) { names[id] = u.username; }, function () { names[id] = id; });
      }));
    var tbody = el('tbody');
    grants.forEach(function (g) {
      var cell = el('td', { class: 'actions' });
      function idle() {
        cell.replaceChildren(el('button', { type: 'button', class: 'btn btn-secondary revoke', 'data-grant-id': g.id,
          'aria-label': 'Revoke the grant of ' + names[g.userId], text: 'Revoke',
          onclick: function () {
            cell.replaceChildren(
              el('button', { type: 'button', class: 'btn btn-danger confirm-revoke', text: 'Confirm revoke', onclick: revoke }),
              el('button', { type: 'button', class: 'btn btn-link', text: 'Cancel', onclick: idle }));
            cell.querySelector('.confirm-revoke').focus();
          } }));
      }
      async function revoke() {
        try {
          await api('DELETE', '/agent-auth/users/' + enc(g.userId) + '/delegations/' + enc(g.id));
          notice('success', 'Revoked the grant of ' + names[g.userId] + ' to ' + c.clientId + '.');
          loadGrants(c, box);
        } catch (e) {
          notice('danger', e.message);
          idle();
        }
      }
      idle();
      tbody.append(el('tr', { 'data-grant-id': g.id },
        el('td', { text: names[g.userId] }),
        el('td', { text: g.hostName ? g.hostName + ' (' + g.host + ')' : (g.host || '') }),
        el('td', { text: (g.scopes || []).join(' ') }),
        el('td', { text: when(g.createdAt) }),
        el('td', { text: g.expiresAt ? when(g.expiresAt) : 'Until revoked' }),
        el('td', null, el('span', { class: g.active ? 'badge badge-ok' : 'badge badge-off', text: g.active ? 'Active' : 'Inactive' }),
          ' ', el('span', { class: 'muted', text: g.origin || '' })),
        cell));
    });
    box.replaceChildren(el('table', { id: 'grants-table' },
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', text: 'User' }), el('th', { scope: 'col', text: 'Host app' }),
        el('th', { scope: 'col', text: 'Scopes' }), el('th', { scope: 'col', text: 'Granted' }),
        el('th', { scope: 'col', text: 'Expires' }), el('th', { scope: 'col', text: 'Status' }),
        el('th', { scope: 'col' }, el('span', { class: 'skip-link', text: 'Actions' })))),
      tbody));
  }

  // ---------------------------------------------------------------- connectors (vault)

  function hostOf(url) {
    try { return new URL(url).host; } catch (e) { return null; }
  }

  /** The hosts a connector talks to (authorization, token, API), once each. */
  function hosts(c) {
    return [c.authorizationUrl, c.tokenUrl, c.apiBaseUrl].map(hostOf).filter(function (h, i, all) { return h && all.indexOf(h) === i; });
  }

  function deliveryText(mode) {
    return mode === 'proxy_exchange' ? 'Proxy and token exchange' : 'Proxy only';
  }

  /** A button that asks once more before doing something that cannot be undone. */
  function confirmStep(cell, label, confirmLabel, aria, className, action) {
    function idle() {
      cell.replaceChildren(el('button', { type: 'button', class: 'btn btn-secondary ' + className, 'aria-label': aria, text: label,
        onclick: function () {
          cell.replaceChildren(
            el('button', { type: 'button', class: 'btn btn-danger confirm-' + className, text: confirmLabel, onclick: function () { action(idle); } }),
            el('button', { type: 'button', class: 'btn btn-link', text: 'Cancel', onclick: idle }));
          cell.querySelector('.confirm-' + className).focus();
        } }));
    }
    idle();
    return cell;
  }

  async function deleteConnector(alias, reset) {
    try {
      await api('DELETE', '/agent-auth/connectors/' + enc(alias));
      pendingNotice = ['success', 'Deleted connector ' + alias + ' and its users\' connections.'];
      if (location.hash === '#/connectors') route(); else location.hash = '#/connectors';
    } catch (e) {
      notice('danger', e.message);
      reset();
    }
  }

  /** Runs the configuration test of a stored connector and shows its checks in {@code box}. */
  async function testConnector(alias, box) {
    box.replaceChildren(el('p', { class: 'muted', text: 'Testing ' + alias + '…' }));
    var result;
    try {
      result = await api('POST', '/agent-auth/connectors/' + enc(alias) + '/test');
    } catch (e) {
      box.replaceChildren(el('div', { class: 'alert alert-danger', text: e.message }));
      return;
    }
    var tbody = el('tbody');
    result.checks.forEach(function (c) {
      tbody.append(el('tr', { 'data-check': c.name },
        el('td', null, el('span', { class: c.ok ? 'badge badge-ok' : 'badge badge-fail', text: c.ok ? 'OK' : 'Problem' })),
        el('td', { text: c.name }),
        el('td', { class: 'wrap', text: c.detail })));
    });
    box.replaceChildren(
      el('h2', { text: 'Configuration test of ' + alias }),
      el('div', { id: 'test-summary', class: 'alert ' + (result.ok ? 'alert-success' : 'alert-warning'),
        text: result.ok ? 'Every check passed.' : 'Some checks found a problem: see below.' }),
      el('table', { id: 'test-checks' },
        el('thead', null, el('tr', null, el('th', { scope: 'col', text: 'Result' }), el('th', { scope: 'col', text: 'Check' }),
          el('th', { scope: 'col', text: 'Detail' }))),
        tbody));
  }

  async function connectorsView() {
    show(el('p', { class: 'muted', text: 'Loading connectors…' }));
    var list = await api('GET', '/agent-auth/connectors');
    var results = el('div', { id: 'test-results', class: 'card', hidden: true });
    var tbody = el('tbody');
    list.forEach(function (c) {
      var actions = el('td', { class: 'actions' });
      var del = el('span');
      confirmStep(del, 'Delete', 'Confirm delete', 'Delete connector ' + c.alias, 'delete-connector', function (reset) {
        deleteConnector(c.alias, reset);
      });
      actions.append(el('button', { type: 'button', class: 'btn btn-link test-connector', 'aria-label': 'Test connector ' + c.alias,
        text: 'Test', onclick: function () { results.hidden = false; testConnector(c.alias, results); } }), ' ', del);
      tbody.append(el('tr', { 'data-alias': c.alias },
        el('td', null, el('a', { href: '#/connectors/' + enc(c.alias), class: 'connector-link', text: c.alias })),
        el('td', null, c.displayName || '', c.policyRefusal ? el('div', { class: 'field-error policy-refusal',
          text: 'Disabled: refused by the host policy (' + c.policyRefusal + ')' }) : null),
        el('td', { class: 'hosts', text: hosts(c).join(', ') }),
        el('td', { text: deliveryText(c.deliveryMode) }),
        el('td', null, el('span', { class: c.clientSecretSet ? 'badge badge-ok' : 'badge badge-off', text: c.clientSecretSet ? 'Set' : 'Not set' })),
        actions));
    });
    if (!list.length) tbody.append(el('tr', null, el('td', { colspan: '6', class: 'muted', text: 'No connectors yet.' })));

    show(el('div', null,
      el('h1', { text: 'Connectors' }),
      el('p', { class: 'lead', text: 'Upstream OAuth 2 providers of realm "' + targetRealm + '" whose tokens the vault keeps per user. '
        + 'Agents reach them through the brokered proxy; each agent\'s policy names the connectors it may use.' }),
      el('div', { class: 'card' },
        el('div', { class: 'toolbar' },
          el('a', { href: '#/new-connector', id: 'new-connector', class: 'btn btn-primary', role: 'button', text: 'New connector' })),
        el('table', { id: 'connectors' },
          el('caption', { class: 'skip-link', text: 'Connectors' }),
          el('thead', null, el('tr', null,
            el('th', { scope: 'col', text: 'Alias' }), el('th', { scope: 'col', text: 'Display name' }),
            el('th', { scope: 'col', text: 'Hosts' }), el('th', { scope: 'col', text: 'Delivery' }),
            el('th', { scope: 'col', text: 'Secret' }),
            el('th', { scope: 'col' }, el('span', { class: 'skip-link', text: 'Actions' })))),
          tbody)),
      results));
  }

  function field(name, label, input, help) {
    input.id = 'c-' + name;
    input.setAttribute('aria-describedby', 'err-c-' + name + (help ? ' help-c-' + name : ''));
    return el('div', { class: 'field', id: 'fld-' + name },
      el('label', { for: input.id, text: label }),
      input,
      help ? el('span', { class: 'help', id: 'help-c-' + name, text: help }) : null,
      el('p', { class: 'field-error', id: 'err-c-' + name }));
  }

  function textInput(value, type) {
    return el('input', { type: type || 'text', value: value || '', spellcheck: 'false', autocomplete: 'off' });
  }

  function select(options, value) {
    var s = el('select');
    options.forEach(function (o) { s.append(el('option', { value: o[0], text: o[1], selected: o[0] === value })); });
    s.value = value;
    return s;
  }

  function paramsText(params) {
    return Object.keys(params || {}).map(function (k) { return k + '=' + params[k]; }).join('\n');
  }

  function paramsOf(text) {
    var out = {};
    text.split('\n').forEach(function (line) {
      var l = line.trim();
      if (!l) return;
      var i = l.indexOf('=');
      out[i < 0 ? l : l.slice(0, i).trim()] = i < 0 ? '' : l.slice(i + 1).trim();
    });
    return out;
  }

  /** Fills the URL, scope and client authentication fields from a preset (or a discovery answer). */
  function fillFrom(p) {
    [['authorizationUrl', p.authorizationUrl], ['tokenUrl', p.tokenUrl], ['revocationUrl', p.revocationUrl],
      ['userinfoUrl', p.userinfoUrl], ['apiBaseUrl', p.apiBaseUrl]].forEach(function (f) {
      if (f[1] !== undefined) $('c-' + f[0]).value = f[1] || '';
    });
    if (p.scopes) $('c-scopes').value = p.scopes.join(' ');
    if (p.extraAuthParams) $('c-extraAuthParams').value = paramsText(p.extraAuthParams);
    if (p.clientAuthMethod) $('c-clientAuthMethod').value = p.clientAuthMethod;
  }

  /** The connector form: {@code alias} null creates one from a preset, else edits the stored connector. */
  async function connectorView(alias) {
    show(el('p', { class: 'muted', text: alias ? 'Loading ' + alias + '…' : 'Loading presets…' }));
    var results = await Promise.all([
      alias ? api('GET', '/agent-auth/connectors/' + enc(alias)) : Promise.resolve(null),
      api('GET', '/agent-auth/connectors/presets')
    ]);
    var c = results[0], presets = results[1];
    var creating = !c;
    c = c || { clientAuthMethod: 'client_secret_basic', deliveryMode: 'proxy', scopes: [], extraAuthParams: {} };
    var presetName = function (id) {
      var p = presets.filter(function (x) { return x.id === id; })[0];
      return p ? p.name : id;
    };

    var presetPicker = null, discovery = null;
    if (creating) {
      presetPicker = select([['', 'Choose a provider…']].concat(presets.map(function (p) { return [p.id, p.name]; })), '');
      presetPicker.id = 'c-preset';
      var issuer = textInput('', 'url');
      issuer.placeholder = 'https://login.example.com/realms/example';
      discovery = el('div', { class: 'row', id: 'discovery', hidden: true },
        field('issuer', 'Issuer URL', issuer, 'The provider\'s OpenID Connect issuer: Discover fills in its endpoints.'),
        el('div', { class: 'field field-button' },
          el('button', { type: 'button', id: 'discover', class: 'btn btn-secondary', text: 'Discover', onclick: discover })));
    }

    var secret = el('input', { type: 'password', value: '', autocomplete: 'new-password', spellcheck: 'false',
      placeholder: c.clientSecretSet ? '(set)' : '' });
    var form = el('form', { id: 'connector-form', novalidate: true },
      el('div', { id: 'connector-errors', class: 'alert alert-danger', role: 'alert' }),
      c.policyRefusal ? el('div', { id: 'connector-policy-refusal', class: 'alert alert-warning', role: 'status',
        text: 'Disabled: this connector came with a realm import and the server\'s host policy refuses it (' + c.policyRefusal
          + '). Nobody can connect to or use it until it is saved with URLs the policy allows, or the server allows the host '
          + '(option --spi-agent-auth-vault--default--allowed-hosts).' }) : null,
      creating ? el('fieldset', null, el('legend', { text: 'Provider' }),
        el('div', { class: 'field', id: 'fld-preset' },
          el('label', { for: 'c-preset', text: 'Preset' }), presetPicker,
          el('span', { class: 'help', text: 'Fills in the provider\'s endpoints and usual scopes; every field stays editable.' }),
          el('p', { class: 'field-error', id: 'err-c-preset' })),
        discovery) : null,
      el('fieldset', null, el('legend', { text: 'Identity' }),
        el('div', { class: 'row' },
          field('alias', 'Alias', el('input', { type: 'text', value: c.alias || '', disabled: !creating, spellcheck: 'false', autocomplete: 'off' }),
            creating ? 'Lower-case letters, digits, - and _; used in URLs and agent policies. Cannot change later.' : 'Cannot change.'),
          field('displayName', 'Display name', textInput(c.displayName), 'Shown to users.'),
          field('logoUri', 'Logo URL', textInput(c.logoUri, 'url')))),
      el('fieldset', null, el('legend', { text: 'Endpoints' }),
        el('div', { class: 'row' },
          field('authorizationUrl', 'Authorization URL', textInput(c.authorizationUrl, 'url')),
          field('tokenUrl', 'Token URL', textInput(c.tokenUrl, 'url'))),
        el('div', { class: 'row' },
          field('revocationUrl', 'Revocation URL (RFC 7009)', textInput(c.revocationUrl, 'url'), 'Optional.'),
          field('userinfoUrl', 'Userinfo URL', textInput(c.userinfoUrl, 'url'), 'Optional: names the linked account.')),
        el('div', { class: 'row' },
          field('apiBaseUrl', 'API base URL', textInput(c.apiBaseUrl, 'url'), 'What the brokered proxy forwards to.'))),
      el('fieldset', null, el('legend', { text: 'Client registered at the provider' }),
        el('div', { class: 'row' },
          field('clientId', 'Client ID', textInput(c.clientId)),
          field('clientSecret', 'Client secret', secret, c.clientSecretSet
            ? 'Stored (never shown). Leave empty to keep it, except when an endpoint moves to another scheme, host or port: '
              + 'then enter it again (it never goes to a new origin). A ${vault.key} reference reads Keycloak\'s vault.'
            : 'Never shown again once saved; a ${vault.key} reference reads Keycloak\'s vault.'),
          field('clientAuthMethod', 'Client authentication', select([['client_secret_basic', 'client_secret_basic (HTTP Basic)'],
            ['client_secret_post', 'client_secret_post (form)']], c.clientAuthMethod)))),
      el('fieldset', null, el('legend', { text: 'Authorization request' }),
        el('div', { class: 'row' },
          field('scopes', 'Scopes', textInput((c.scopes || []).join(' ')), 'Space separated.'),
          field('extraAuthParams', 'Extra parameters', el('textarea', { rows: '2', spellcheck: 'false', value: paramsText(c.extraAuthParams) }),
            'One name=value per line, e.g. access_type=offline.'))),
      el('fieldset', null, el('legend', { text: 'Delivery and limits' }),
        el('div', { class: 'row' },
          field('deliveryMode', 'Token delivery', select([['proxy', 'Proxy only (the agent never sees upstream tokens)'],
            ['proxy_exchange', 'Proxy and token exchange (the agent may get upstream access tokens)']], c.deliveryMode)),
          field('timeoutMillis', 'Upstream timeout (ms)', el('input', { type: 'number', min: '100', max: '120000', step: '1',
            value: c.timeoutMillis ? String(c.timeoutMillis) : '' })),
          field('maxResponseBytes', 'Largest response (bytes)', el('input', { type: 'number', min: '1', step: '1',
            value: c.maxResponseBytes ? String(c.maxResponseBytes) : '' })))),
      el('div', { class: 'actions-bar' },
        el('button', { type: 'submit', id: 'save-connector', class: 'btn btn-primary', text: creating ? 'Create' : 'Save' }),
        el('a', { href: '#/connectors', class: 'btn btn-link', text: 'Cancel' })));

    if (creating) {
      presetPicker.addEventListener('change', function () {
        var p = presets.filter(function (x) { return x.id === presetPicker.value; })[0];
        if (!p) return;
        fillFrom(p);
        if (!$('c-alias').value && p.id !== 'oauth2' && p.id !== 'oidc') $('c-alias').value = p.id;
        if (!$('c-displayName').value && p.id !== 'oauth2' && p.id !== 'oidc') $('c-displayName').value = p.name;
        discovery.hidden = !p.discovery;
      });
    }

    async function discover() {
      clearConnectorErrors(form);
      var button = $('discover');
      button.disabled = true;
      try {
        var found = await api('POST', '/agent-auth/connectors/discover', { issuer: $('c-issuer').value.trim() });
        fillFrom(found);
        notice('success', 'Filled in the endpoints of ' + found.issuer + '.');
      } catch (e) {
        if (e.status === 400) showConnectorErrors(form, e, 'Discovery failed.');
        else notice('danger', e.message);
      } finally {
        button.disabled = false;
      }
    }

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      saveConnector(form, creating, c, presetPicker);
    });

    var testBox = el('div', { id: 'test-results' });
    var side = null;
    if (!creating) {
      var del = el('span');
      confirmStep(del, 'Delete connector', 'Confirm delete', 'Delete connector ' + c.alias, 'delete-connector', function (reset) {
        deleteConnector(c.alias, reset);
      });
      side = el('div', { class: 'card' },
        el('h2', { text: 'Test and delete' }),
        el('p', { class: 'help', text: 'The test checks the saved configuration: host policy, client secret, token endpoint (a made-up '
          + 'code tells whether the client credentials are right) and authorization endpoint.' }),
        el('p', null, el('button', { type: 'button', id: 'test-connector', class: 'btn btn-secondary', text: 'Test configuration',
          onclick: function () { testConnector(c.alias, testBox); } })),
        el('p', { class: 'help', text: 'Deleting removes every user\'s connection to this provider.' }),
        del,
        testBox);
    }

    show(el('div', null,
      el('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
        el('a', { href: '#/connectors', text: 'Connectors' }), el('span', { 'aria-hidden': 'true', text: '›' }),
        creating ? 'New connector' : c.alias),
      el('h1', { text: creating ? 'New connector' : (c.displayName || c.alias) }),
      el('p', { class: 'lead', text: creating ? 'Start from a preset, then fill in the client registered at the provider.'
        : c.alias + (c.preset ? ' · from preset ' + presetName(c.preset) : '') }),
      el('div', { class: creating ? null : 'grid-2' },
        el('div', { class: 'card' }, form),
        side)));
  }

  function clearConnectorErrors(form) {
    $('connector-errors').replaceChildren();
    form.querySelectorAll('.field-error').forEach(function (p) { p.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach(function (i) { i.removeAttribute('aria-invalid'); });
  }

  function showConnectorErrors(form, err, title) {
    var list = (err.data && err.data.errors && err.data.errors.length) ? err.data.errors
      : [{ field: err.data && err.data.field, errorMessage: err.message }];
    $('connector-errors').replaceChildren(el('strong', { text: title }),
      el('ul', null, list.map(function (e) { return el('li', { text: e.errorMessage }); })));
    list.forEach(function (e) {
      var msg = e.field && $('err-c-' + e.field), input = e.field && $('c-' + e.field);
      if (msg) msg.textContent = (msg.textContent ? msg.textContent + ' ' : '') + e.errorMessage;
      if (input) input.setAttribute('aria-invalid', 'true');
    });
    $('connector-errors').scrollIntoView({ block: 'nearest' });
  }

  async function saveConnector(form, creating, stored, presetPicker) {
    clearConnectorErrors(form);
    notice();
    function v(name) { return $('c-' + name).value.trim(); }
    function n(name) { var x = v(name); return x === '' ? null : Number(x); }
    var body = {
      alias: creating ? v('alias') : stored.alias,
      displayName: v('displayName'), logoUri: v('logoUri'),
      authorizationUrl: v('authorizationUrl'), tokenUrl: v('tokenUrl'), revocationUrl: v('revocationUrl'),
      userinfoUrl: v('userinfoUrl'), apiBaseUrl: v('apiBaseUrl'),
      clientId: v('clientId'), clientAuthMethod: v('clientAuthMethod'),
      scopes: words(v('scopes')), extraAuthParams: paramsOf($('c-extraAuthParams').value),
      deliveryMode: v('deliveryMode'), timeoutMillis: n('timeoutMillis'), maxResponseBytes: n('maxResponseBytes'),
      preset: creating ? (presetPicker.value || null) : (stored.preset || null)
    };
    var secret = $('c-clientSecret').value;
    if (secret !== '') body.clientSecret = secret; // empty: keep the stored one
    var button = $('save-connector');
    button.disabled = true;
    try {
      var saved = creating ? await api('POST', '/agent-auth/connectors', body)
        : await api('PUT', '/agent-auth/connectors/' + enc(stored.alias), body);
      pendingNotice = saved.connectionsExpired
        ? ['warning', 'Saved connector ' + saved.alias + '. ' + (saved.originsChanged || []).join(', ') + ' moved to another origin: '
          + 'users\' connections are marked expired and must be linked again.']
        : ['success', (creating ? 'Created' : 'Saved') + ' connector ' + saved.alias + '.'];
      location.hash = '#/connectors';
    } catch (e) {
      if (e.status === 400 || e.status === 409) showConnectorErrors(form, e, creating ? 'The connector was not created.' : 'The connector was not saved.');
      else if (e.message !== 'Signing in again…') notice('danger', e.message);
    } finally {
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------- realm picker (master admins)

  async function realmPicker() {
    if (loginRealm !== 'master') return;
    var realms;
    try { realms = await request('GET', base + '/admin/realms?briefRepresentation=true'); } catch (e) { return; }
    var select = $('realm-select');
    var names = realms.map(function (r) { return r.realm; });
    if (names.indexOf(targetRealm) < 0) names.push(targetRealm);
    names.forEach(function (n) { select.append(el('option', { value: n, text: n, selected: n === targetRealm })); });
    select.value = targetRealm;
    select.addEventListener('change', function () {
      targetRealm = select.value;
      history.replaceState(null, '', ownUrl());
      $('realm-name').textContent = '';
      if (location.hash) location.hash = ''; else route();
    });
    $('realm-picker').hidden = false;
    $('realm-name').textContent = '';
  }

  // ---------------------------------------------------------------- clients without registration (CIMD)

  function lines(s) { return s.split(/[\s,]+/).filter(function (w) { return w; }); }

  function when(epochSeconds) {
    return epochSeconds ? new Date(epochSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '';
  }

  async function cimdAction(method, path, done) {
    try {
      var r = await api(method, '/agent-auth/cimd' + path);
      pendingNotice = ['success', done(r)];
    } catch (e) {
      pendingNotice = ['danger', e.message];
    }
    route();
  }

  async function cimdView() {
    show(el('p', { class: 'muted', text: 'Loading…' }));
    var s = await api('GET', '/agent-auth/cimd');
    var listing = null;
    var listError = null;
    try { listing = await api('GET', '/agent-auth/cimd/clients'); } catch (e) { listError = e.message; }

    var form = el('form', { id: 'cimd-form', novalidate: true },
      section('enabled', 'Clients without registration', null, switchField('f-cimd-enabled',
        'Accept MCP clients identified by the HTTPS URL of their metadata document', s.enabled,
        'Off by default. When on, discovery says client_id_metadata_document_supported, and the first sign-in through such a client '
        + 'fetches its document and creates a public client (PKCE, consent, exact redirects).')),
      section('allowedHosts', 'Allowed hosts', 'Hosts whose documents may be fetched, one per line: app.example.com or *.example.com. Empty: any host.',
        el('textarea', { id: 'f-cimd-allowedHosts', rows: '3', value: s.allowedHosts.join('\n') })),
      section('deniedHosts', 'Denied hosts', 'Never fetched, checked first. Same forms.',
        el('textarea', { id: 'f-cimd-deniedHosts', rows: '3', value: s.deniedHosts.join('\n') })),
      section('limits', 'Limits', null, el('div', { class: 'row' },
        el('div', { class: 'field' },
          el('label', { for: 'f-cimd-maxClients', text: 'Most clients' }),
          el('input', { id: 'f-cimd-maxClients', type: 'number', min: '0', value: String(s.maxClients) })),
        el('div', { class: 'field' },
          el('label', { for: 'f-cimd-cacheSeconds', text: 'Fetch a document again after (seconds)' }),
          el('input', { id: 'f-cimd-cacheSeconds', type: 'number', min: '0', value: String(s.cacheSeconds) })))),
      section('scopes', 'Scope ceiling', 'Client scopes such a client may have, separated by spaces. Empty: the realm\'s default and optional client scopes.',
        el('input', { id: 'f-cimd-scopes', type: 'text', value: s.scopes ? s.scopes.join(' ') : '' })),
      el('div', { class: 'actions-bar' },
        el('button', { type: 'submit', id: 'cimd-save', class: 'btn btn-primary', text: 'Save' }),
        el('span', { id: 'cimd-error', class: 'field-error', role: 'status' })));
    form.addEventListener('submit', async function (ev) {
      ev.preventDefault();
      var scopes = lines($('f-cimd-scopes').value);
      var body = {
        enabled: $('f-cimd-enabled').checked,
        allowedHosts: lines($('f-cimd-allowedHosts').value),
        deniedHosts: lines($('f-cimd-deniedHosts').value),
        maxClients: Number($('f-cimd-maxClients').value),
        cacheSeconds: Number($('f-cimd-cacheSeconds').value),
        scopes: scopes.length ? scopes : null
      };
      try {
        await api('PUT', '/agent-auth/cimd', body);
        pendingNotice = ['success', 'Saved.'];
        route();
      } catch (e) {
        $('cimd-error').textContent = e.message;
      }
    });

    var clientsBox;
    if (listError) {
      clientsBox = el('div', { class: 'alert alert-warning', text: listError });
    } else {
      var tbody = el('tbody');
      listing.clients.forEach(function (c) {
        var del = el('span');
        confirmStep(del, 'Delete', 'Confirm delete', 'Delete client ' + c.clientId, 'delete-cimd', function () {
          cimdAction('DELETE', '/clients/' + enc(c.id), function () { return 'Deleted ' + c.clientId + '.'; });
        });
        tbody.append(el('tr', { 'data-client-id': c.clientId },
          el('td', null, el('strong', { text: c.host }), el('div', { class: 'muted wrap', text: c.clientId })),
          el('td', null, c.selfDeclaredName, el('div', { class: 'muted', text: 'self-declared' })),
          el('td', { class: 'wrap', text: c.redirectUris.join(' ') }),
          el('td', { text: when(c.fetchedAt) }),
          el('td', null, el('span', { class: c.blocked ? 'badge badge-fail' : 'badge badge-ok', text: c.blocked ? 'Blocked' : 'Active' })),
          el('td', { class: 'actions' },
            el('button', { type: 'button', class: 'btn btn-link refetch-cimd', 'aria-label': 'Fetch the document of ' + c.clientId + ' again',
              text: 'Refetch', onclick: function () {
                cimdAction('POST', '/clients/' + enc(c.id) + '/refetch', function (r) {
                  return 'Fetched ' + c.clientId + (r.redirectsChanged ? ': its redirect URIs changed, so consents and refresh tokens were revoked.' : '.');
                });
              } }), ' ',
            el('button', { type: 'button', class: 'btn btn-link ' + (c.blocked ? 'unblock-cimd' : 'block-cimd'),
              'aria-label': (c.blocked ? 'Unblock ' : 'Block ') + c.clientId, text: c.blocked ? 'Unblock' : 'Block', onclick: function () {
                cimdAction('POST', '/clients/' + enc(c.id) + (c.blocked ? '/unblock' : '/block'), function () {
                  return (c.blocked ? 'Unblocked ' : 'Blocked ') + c.clientId + '.';
                });
              } }), ' ', del)));
      });
      if (!listing.clients.length) tbody.append(el('tr', null, el('td', { colspan: '6', class: 'muted', text: 'No such clients yet.' })));
      var blocked = el('ul', { id: 'cimd-blocked' });
      listing.blockedWithoutClient.forEach(function (u) {
        blocked.append(el('li', null, u, ' ', el('button', { type: 'button', class: 'btn btn-link unblock-deleted', text: 'Unblock',
          onclick: function () {
            cimdAction('DELETE', '/blocked?clientId=' + enc(u), function () { return 'Unblocked ' + u + '.'; });
          } })));
      });
      clientsBox = el('div', null,
        el('p', { class: 'muted', text: listing.clients.length + ' of at most ' + listing.maxClients + ' clients.' }),
        el('table', { id: 'cimd-clients' },
          el('thead', null, el('tr', null, el('th', { scope: 'col', text: 'Host and client ID' }), el('th', { scope: 'col', text: 'Name' }),
            el('th', { scope: 'col', text: 'Redirect URIs' }), el('th', { scope: 'col', text: 'Fetched' }), el('th', { scope: 'col', text: 'Status' }),
            el('th', { scope: 'col' }, el('span', { class: 'skip-link', text: 'Actions' })))),
          tbody),
        listing.blockedWithoutClient.length ? el('div', null, el('h3', { text: 'Blocked, client deleted' }), blocked) : null);
    }

    show(el('div', null,
      el('h1', { text: 'Clients without registration' }),
      el('p', { class: 'lead', text: 'MCP clients of realm "' + targetRealm + '" that identify themselves by the URL of a client ID metadata document.' }),
      el('div', { class: 'card' }, el('h2', { text: 'Clients' }), clientsBox),
      el('div', { class: 'card' }, el('h2', { text: 'Settings' }), form)));
  }

  // ---------------------------------------------------------------- start

  async function start() {
    if (!match) { fail('Open this page at /realms/{realm}/agent-auth/admin/.'); return; }
    if (targetRealm !== loginRealm && loginRealm !== 'master') {
      fail('Only admins of the master realm can manage another realm from here. Open /realms/' + targetRealm + '/agent-auth/admin/ instead.');
      return;
    }
    try {
      if (query.has('code') || query.has('error')) await completeSignIn();
      else { await signIn(); return; }
    } catch (e) {
      fail(e.message);
      return;
    }
    var who = claims(tokens.idToken || tokens.access);
    $('user-name').textContent = who.preferred_username || '';
    $('realm-name').textContent = 'Realm: ' + targetRealm;
    $('sign-out').hidden = false;
    $('sections').hidden = false;
    $('sign-out').addEventListener('click', signOut);
    window.addEventListener('hashchange', route);
    await realmPicker();
    await route();
  }

  document.addEventListener('DOMContentLoaded', start);
}());
