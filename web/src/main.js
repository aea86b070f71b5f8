// Entry point: the server renders one shell per page (see
// internal/dashboard/templates/page.html); this picks the page's code.

import './app.css';
import { board } from './board.js';
import { gamePage } from './game.js';
import { reportsPage } from './reports.js';
import { pipelinePage } from './pipeline.js';

const { page, game, role } = document.body.dataset;
const main = document.getElementById('main');

switch (page) {
  case 'board':
    board(main);
    break;
  case 'game':
    gamePage(main, game);
    break;
  case 'reports':
    reportsPage(main);
    break;
  case 'pipeline':
    pipelinePage(main, role);
    break;
}
