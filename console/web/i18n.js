'use strict';
// UI strings, Korean and English.
window.I18N = {
  ko: {
    title: '상담 콘솔', username: '아이디', password: '비밀번호', signin: '로그인', signout: '로그아웃',
    connecting: '연결 중', online: '연결됨', offline: '연결 끊김 - 재연결 중', status: '상태',
    ready: '상담 가능', notready: '상담 불가', afternext: '현재 상담 후', logoutrouting: '업무 종료',
    nocontacts: '진행 중인 상담이 없습니다.', wrapup: '후처리', history: '이전 상담 이력',
    newoffer: '새 상담 요청', respondin: '남은 시간', accept: '수락', reject: '거절', send: '보내기',
    hold: '보류', resume: '재개', hangup: '끊기', transfer: '이관', endchat: '상담 종료',
    toqueue: '대기열', toagent: '상담사', note: '메모', disposition: '처리 결과', notes: '메모',
    then: '다음 상태', save: '저장', slchart: '서비스 수준 (15분)', volchart: '인입량 (15분)',
    waitingin: '대기 고객', channel: '채널', waited: '대기', stateh: '상태', reason: '사유', agents: '상담사',
    agent: '상담사', timein: '경과', active: '진행', following: '채팅 모니터링', stop: '중지',
    takenover: '다른 창에서 콘솔을 열었습니다.', usehere: '여기서 사용', follow: '모니터링', move: '이동',
    forceready: '가능', forcenr: '불가', forcelogout: '종료', typing: '고객이 입력 중...',
    phoneon: '전화기 등록됨', phoneoff: '전화기 미등록', queue: '대기열', hotline: '상담번호',
    language: '언어', citizen: '고객', wrongpw: '아이디 또는 비밀번호가 틀렸습니다.', locked: '계정이 잠겼습니다. 잠시 후 다시 시도하세요.',
    waitingn: '대기', longest: '최장 대기', sltoday: 'SL 오늘', sl15: 'SL 15분', asa: '평균 응답', abandoned: '포기',
    closed: '종료됨', canned: '상용구', prio: '우선순위', none: '-',
    st_ready: '상담 가능', st_not_ready: '상담 불가', st_reserved: '연결 대기', st_busy: '상담 중', st_wrap_up: '후처리', st_offline: '로그아웃',
    r_break: '휴식', r_lunch: '식사', r_training: '교육', r_meeting: '회의', r_admin: '행정',
    voice: '전화', chat: '채팅', away: '미접속',
    cs_waiting: '대기', cs_offered: '연결 중', cs_talking: '상담 중', cs_callback: '콜백 예약', citizenside: '고객', agentside: '상담사', systemside: '시스템'
  },
  en: {
    title: 'Agent console', username: 'Username', password: 'Password', signin: 'Sign in', signout: 'Sign out',
    connecting: 'Connecting', online: 'Online', offline: 'Offline - reconnecting', status: 'Status',
    ready: 'Ready', notready: 'Not ready', afternext: 'after current contact', logoutrouting: 'Log out',
    nocontacts: 'No active contacts.', wrapup: 'Wrap-up', history: 'Earlier contacts',
    newoffer: 'New contact', respondin: 'Respond within', accept: 'Accept', reject: 'Reject', send: 'Send',
    hold: 'Hold', resume: 'Resume', hangup: 'Hang up', transfer: 'Transfer', endchat: 'End',
    toqueue: 'queue', toagent: 'agent', note: 'note', disposition: 'Disposition', notes: 'Notes',
    then: 'Then', save: 'Save', slchart: 'Service level (15 min)', volchart: 'Volume (15 min)',
    waitingin: 'Waiting in', channel: 'Channel', waited: 'Waited', stateh: 'State', reason: 'Reason', agents: 'Agents',
    agent: 'Agent', timein: 'Time', active: 'Active', following: 'Following chat', stop: 'Stop',
    takenover: 'The console was opened in another window.', usehere: 'Use here', follow: 'Follow', move: 'Move',
    forceready: 'Ready', forcenr: 'Not ready', forcelogout: 'Log out', typing: 'Citizen is typing...',
    phoneon: 'Phone registered', phoneoff: 'Phone not registered', queue: 'Queue', hotline: 'Hotline',
    language: 'Language', citizen: 'Citizen', wrongpw: 'Wrong username or password.', locked: 'Account locked. Try again later.',
    waitingn: 'Waiting', longest: 'Longest', sltoday: 'SL today', sl15: 'SL 15m', asa: 'ASA', abandoned: 'Abandoned',
    closed: 'closed', canned: 'Canned', prio: 'priority', none: '-',
    st_ready: 'Ready', st_not_ready: 'Not ready', st_reserved: 'Reserved', st_busy: 'Busy', st_wrap_up: 'Wrap-up', st_offline: 'Offline',
    r_break: 'Break', r_lunch: 'Lunch', r_training: 'Training', r_meeting: 'Meeting', r_admin: 'Admin',
    voice: 'Voice', chat: 'Chat', away: 'away',
    cs_waiting: 'Waiting', cs_offered: 'Offered', cs_talking: 'Talking', cs_callback: 'Callback', citizenside: 'Citizen', agentside: 'Agent', systemside: 'System'
  }
};
